# The protocol between the supervisor and its stage processes.
#
# One Unix stream socket per stage (fd 3 in the stage by convention). Every frame
# carries one `Message`: the supervisor sends exactly one `request` (with the fds
# it refers to) and may later send `cancel`; the stage sends any number of
# `progress` and `log` messages and then exactly one `result` or `error`.
# Framing, limits and phases: docs/stage-protocol.md.
#
# Paths in requests are paths as seen INSIDE the stage sandbox. Files and
# directories the supervisor opens for the stage travel as fds (`FdRef.slot`).
# Integers that may be unknown use -1 (Int64) rather than 0, since 0 is valid.

@0xaf1f69396ac578ac;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");

enum StageKind {
  fetcher @0;
  verifier @1;
  resolver @2;
  installer @3;
  diskmaker @4;
  # A stage added later takes the next ordinal (@5); Cap'n Proto ordinals
  # are dense, so the ones above never change.
}

struct Message {
  union {
    request @0 :StageRequest;    # supervisor -> stage, first and once
    progress @1 :Progress;       # stage -> supervisor
    log @2 :LogLine;             # stage -> supervisor
    result @3 :StageResult;      # stage -> supervisor, last
    error @4 :Error;             # stage -> supervisor, last (instead of result)
    cancel @5 :Cancel;           # supervisor -> stage, after the request
  }
}

struct Error {
  # How the receiver should react, not what went wrong (mirrors ipc::ErrorKind).
  enum Kind {
    failed @0;            # report, never retry
    invalidInput @1;      # bad template, metadata or request: report
    overloaded @2;        # retry later
    disconnected @3;      # the peer died or closed the socket
    unimplemented @4;     # feature not available: fall back or report
    sandboxViolation @5;  # SIGSYS or a denied operation: report loudly
  }
  struct Detail {
    key @0 :Text;
    value @1 :Text;
  }
  kind @0 :Kind;
  message @1 :Text;
  context @2 :List(Text);   # innermost first
  errnoValue @3 :Int32;
  hint @4 :Text;
  stage @5 :Text;
  details @6 :List(Detail); # e.g. "where" = "file.cpp:42"
}

struct Progress {
  stage @0 :StageKind;
  phase @1 :Text;           # "download", "unpack", "configure", ...
  done @2 :UInt64;          # generic work units of this phase
  total @3 :UInt64;         # 0 = unknown
  bytesDone @4 :UInt64;
  bytesTotal @5 :UInt64;    # 0 = unknown
  filesDone @6 :UInt32;
  filesTotal @7 :UInt32;    # 0 = unknown
  ratePerSec @8 :Float64;   # bytes per second when known, else 0
  item @9 :Text;            # what is being worked on now (file or package name)
}

struct LogLine {
  enum Level {
    debug @0;
    info @1;
    warning @2;
    error @3;
  }
  level @0 :Level;
  text @1 :Text;
}

struct Cancel {
  reason @0 :Text;
}

struct FdRef {
  # A file: `slot` indexes the fds passed with the request (SCM_RIGHTS); the
  # supervisor uses slots for files. A directory: always `path`, where the
  # supervisor has bound it inside the stage's own root; the stage opens it
  # there. A directory fd never crosses the socket (both ends refuse one):
  # opened in the supervisor's mount namespace, its ".." leads out of the
  # stage's root. Exactly one of slot and path is set.
  slot @0 :Int32 = -1;
  path @1 :Text;
  # Set on what the stage writes: a directory it writes into (bound
  # read-write; otherwise read-only), or, in request files, a file that is
  # opened for writing (created, truncated) when the request is loaded,
  # where any other file is opened read-only.
  writable @2 :Bool;
}

struct StageRequest {
  fdCount @0 :UInt32;          # fds attached to the request frame; checked on receipt
  sourceDateEpoch @1 :Int64 = -1;  # timestamps for reproducible output; -1 = unset
  union {
    fetcher @2 :FetcherRequest;
    verifier @3 :VerifierRequest;
    resolver @4 :ResolverRequest;
    installer @5 :InstallerRequest;
    diskmaker @6 :DiskmakerRequest;
  }
}

struct StageResult {
  union {
    fetcher @0 :FetcherResult;
    verifier @1 :VerifierResult;
    resolver @2 :ResolverResult;
    installer @3 :InstallerResult;
    diskmaker @4 :DiskmakerResult;
  }
}

# ---- fetcher: downloads files into one output directory (network on) ----

struct FetcherRequest {
  struct Download {
    url @0 :Text;
    destName @1 :Text;          # plain file name inside outputDir, no '/'
    expectedSha256 @2 :Text;    # lowercase hex; empty = unknown
    expectedSize @3 :Int64 = -1;
    # Without expectedSize (an index, a key, an InRelease), a body longer
    # than this is refused; the supervisor sets it per kind of file.
    maxSize @4 :UInt64 = 268435456;
  }
  struct Proxy {
    http @0 :Text;
    https @1 :Text;
    noProxy @2 :Text;
  }
  downloads @0 :List(Download);
  outputDir @1 :FdRef;
  workers @2 :UInt32 = 4;
  retries @3 :UInt32 = 3;
  perFileTimeoutSec @4 :UInt32 = 300;
  totalTimeoutSec @5 :UInt32 = 3600;
  allowPlainHttp @6 :Bool = false;  # only for indexes checked by signature afterwards
  proxy @7 :Proxy;                  # inherited from the supervisor's environment
  userAgent @8 :Text;
}

struct FetcherResult {
  struct File {
    url @0 :Text;
    destName @1 :Text;
    sha256 @2 :Text;
    size @3 :UInt64;
    resumed @4 :Bool;
    attempts @5 :UInt32;
  }
  files @0 :List(File);
  bytesTotal @1 :UInt64;
}

# ---- verifier: checks Release signatures, index and package hashes (no network) ----

struct VerifierRequest {
  struct Key {
    file @0 :FdRef;             # armored or binary OpenPGP key(ring)
    fingerprint @1 :Text;       # optional pin: the Release must be signed by this key
  }
  struct DetachedRelease {
    release @0 :FdRef;
    signature @1 :FdRef;        # Release.gpg
  }
  struct IndexFile {
    relativePath @0 :Text;      # as listed in Release, e.g. "main/binary-amd64/Packages.xz"
    file @1 :FdRef;
    # Optional, writable: receives the decompressed text of a compressed index
    # (left untouched when cachedUncompressed is used instead).
    uncompressedOut @2 :FdRef;
    # Optional: a copy decompressed by an earlier run. Used instead of
    # decompressing only when the Release lists the uncompressed file and the
    # copy hashes to that entry; otherwise the refusal is reported.
    cachedUncompressed @3 :FdRef;
  }
  struct Repository {
    name @0 :Text;
    suite @1 :Text;             # expected Suite or Codename
    architectures @2 :List(Text);
    components @3 :List(Text);
    releaseFiles :union {
      inRelease @4 :FdRef;
      detached @5 :DetachedRelease;
    }
    keys @6 :List(Key);
    indexFiles @7 :List(IndexFile);
  }
  struct PackageFile {
    name @0 :Text;
    repo @1 :Text;
    file @2 :FdRef;
    expectedSha256 @3 :Text;
    expectedSize @4 :Int64 = -1;
  }
  repositories @0 :List(Repository);
  packages @1 :List(PackageFile);
  checkArchiveContents @2 :Bool;  # also open each .deb and check its members
  checkTime @3 :Int64 = -1;       # unix time for Valid-Until; -1 = now
}

struct VerifierResult {
  struct Repo {
    name @0 :Text;
    signerFingerprint @1 :Text;
    date @2 :Int64;             # Release Date, unix time
    validUntil @3 :Int64 = -1;  # -1 = no Valid-Until
    suite @4 :Text;
    codename @5 :Text;
  }
  struct Index {
    enum Uncompressed {
      none @0;                  # not compressed, or no uncompressedOut given
      written @1;               # decompressed into uncompressedOut
      cached @2;                # cachedUncompressed matched the Release
    }
    repo @0 :Text;
    relativePath @1 :Text;
    sha256 @2 :Text;
    size @3 :UInt64;
    uncompressed @4 :Uncompressed;
    uncompressedSha256 @5 :Text;  # the Release's entry the text matched; empty: not listed
    uncompressedSize @6 :UInt64;
    cacheRefusal @7 :Text;        # why cachedUncompressed was not used; names it
  }
  struct Package {
    name @0 :Text;
    repo @1 :Text;
    sha256 @2 :Text;
    size @3 :UInt64;
  }
  struct Failure {
    item @0 :Text;              # repository, index path or package name
    reason @1 :Text;
  }
  verifiedRepos @0 :List(Repo);
  verifiedIndexes @1 :List(Index);
  verifiedPackages @2 :List(Package);
  failures @3 :List(Failure);
}

# ---- resolver: picks packages and an installation order (no network) ----

enum PackageSource {
  dependency @0;
  essential @1;
  kernel @2;
  bootloader @3;
  system @4;                    # listed by the template
}

struct ResolverRequest {
  struct Index {
    repoName @0 :Text;
    packages @1 :FdRef;         # uncompressed Packages file
    baseUrl @2 :Text;           # Filename fields are relative to it
    priority @3 :Int32;         # higher wins when versions tie
    allowPackages @4 :List(Text);  # globs; empty = all
  }
  struct Requested {
    name @0 :Text;              # exact name or glob
    version @1 :Text;           # pin, e.g. "= 1.2-3" or ">= 1.2"; empty = newest
    source @2 :PackageSource = system;
  }
  enum EssentialMode {
    required @0;                # Essential: yes and Priority: required
    essentialOnly @1;           # Essential: yes
    none @2;                    # only what was requested
  }
  indexes @0 :List(Index);
  requested @1 :List(Requested);
  architecture @2 :Text;        # Debian name, e.g. "amd64"
  essential @3 :EssentialMode;
  excluded @4 :List(Text);      # never install these
  emitDotGraph @5 :Bool;
}

struct ResolverResult {
  struct Package {
    name @0 :Text;
    version @1 :Text;
    architecture @2 :Text;
    repo @3 :Text;
    url @4 :Text;
    filename @5 :Text;
    sha256 @6 :Text;
    size @7 :UInt64;
    source @8 :PackageSource;
    essential @9 :Bool;
    preDepends @10 :List(Text);
  }
  packages @0 :List(Package);   # sorted by name
  installOrder @1 :List(Text);  # package names
  dotGraph @2 :Text;
}

# ---- installer: unpacks and configures the root tree ----

struct InstallerRequest {
  struct PackageFile {
    file @0 :FdRef;
    name @1 :Text;
    version @2 :Text;
    architecture @3 :Text;
    essential @4 :Bool;
    preDepends @5 :List(Text);
    sha256 @6 :Text;            # of the .deb, for the SBOM
    size @7 :UInt64;
    downloadUrl @8 :Text;
    repository @9 :Text;        # repository id from the lockfile
  }
  struct User {
    name @0 :Text;
    passwordHash @1 :Text;      # crypt(3) hash; never a clear password
    uid @2 :Int32 = -1;         # -1 = next free
    groups @3 :List(Text);
    shell @4 :Text;
    home @5 :Text;
    sudo @6 :Bool;
    sshAuthorizedKeys @7 :List(Text);
  }
  struct AdditionalFile {
    source @0 :FdRef;
    destination @1 :Text;       # absolute path inside the image
    mode @2 :UInt32 = 0644;    # octal
  }
  struct Command {
    union {
      argv @0 :List(Text);
      script @1 :Text;          # run by the image's /bin/sh, as the template asks
    }
  }
  struct FstabEntry {
    spec @0 :Text;              # "UUID=...", "PARTUUID=..." or "LABEL=..."
    mountPoint @1 :Text;
    fsType @2 :Text;
    options @3 :Text;
    dump @4 :UInt8;
    pass @5 :UInt8;
  }
  struct Sbom {
    enabled @0 :Bool;
    fileName @1 :Text;          # inside the output directory
    imageName @2 :Text;
    imageVersion @3 :Text;
    distribution @4 :Text;
  }
  packages @0 :List(PackageFile);  # in installation order
  rootDir @1 :FdRef;               # empty directory the tree is built in
  hostname @2 :Text;
  users @3 :List(User);
  additionalFiles @4 :List(AdditionalFile);
  commands @5 :List(Command);
  fstab @6 :List(FstabEntry);
  kernelCmdline @7 :Text;
  initramfsTool @8 :Text;          # "dracut", "initramfs-tools" or "none"
  sbom @9 :Sbom;
  outputDir @10 :FdRef;            # for the SBOM
  buildEnv @11 :BuildEnv;
  bootloader @12 :Bootloader;
  uki @13 :Bool;                   # kernel.uki: one signed-able EFI binary, no boot manager
  rootFsUuid @14 :Text;            # file system UUID of "/" (boot loader config, cmdline)
  bootFsUuid @15 :Text;            # of the file system holding /boot ("" = the root's)
  espMountPoint @16 :Text;         # where the ESP mounts ("/boot/efi"); "" = no ESP
}

# The bootstrapped base (every package installed, no OS configuration yet),
# cached by the supervisor under a key that hashes the exact package set.
struct BuildEnv {
  enum Mode {
    none @0;                       # install the packages; cache nothing
    reuse @1;                      # copy `dir` into rootDir instead of installing
    save @2;                       # install into rootDir (`dir` names the same tree) and stop
  }
  mode @0 :Mode;
  dir @1 :FdRef;
}

struct InstallerResult {
  struct Package {
    name @0 :Text;
    version @1 :Text;
    architecture @2 :Text;
  }
  rootDir @0 :Text;
  installed @1 :List(Package);
  sbomPath @2 :Text;
  kernelPath @3 :Text;          # relative to rootDir
  initrdPath @4 :Text;          # relative to rootDir
  kernelVersion @5 :Text;
  buildEnvReused @6 :Bool;
  bootFiles @7 :List(Text);     # files the boot loader step wrote, relative to rootDir
}

# ---- diskmaker: partitions, file systems, bootloader, output formats ----

struct Bootloader {
  type @0 :Text;                # "efi" or "legacy"
  provider @1 :Text;            # "grub" or "systemd-boot"
}

struct DiskmakerRequest {
  enum TableType {
    gpt @0;
    mbr @1;
  }
  struct Partition {
    id @0 :Text;
    index @1 :UInt32;           # 1-based; 0 = next free
    name @2 :Text;
    typeGuid @3 :Text;          # or an MBR type byte in hex
    start @4 :UInt64;           # bytes
    end @5 :UInt64;             # bytes; 0 = end of disk
    fsType @6 :Text;
    fsLabel @7 :Text;
    mountPoint @8 :Text;
    mountOptions @9 :Text;
    flags @10 :List(Text);
    fsUuid @11 :Text;           # chosen by the supervisor: fstab and boot config use it
    partUuid @12 :Text;         # GPT partition UUID ("" for MBR)
  }
  struct Artifact {
    type @0 :Text;              # "raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi"
    compression @1 :Text;       # "none", "gz", "xz", "zstd"
  }
  rootDir @0 :FdRef;
  tableType @1 :TableType;
  diskSize @2 :UInt64;          # bytes
  partitions @3 :List(Partition);
  bootloader @4 :Bootloader;
  kernelCmdline @5 :Text;
  uki @6 :Bool;
  artifacts @7 :List(Artifact);
  outputDir @8 :FdRef;
  outputName @9 :Text;          # base name, no '/'
}

struct DiskmakerResult {
  struct ArtifactFile {
    path @0 :Text;
    type @1 :Text;
    sha256 @2 :Text;
    size @3 :UInt64;
  }
  struct PartitionIds {
    id @0 :Text;
    partUuid @1 :Text;
    fsUuid @2 :Text;
  }
  artifacts @0 :List(ArtifactFile);
  partitions @1 :List(PartitionIds);
}
