# stage-verifier's contract: checks Release signatures, index and package
# hashes (no network). The envelope that carries it: ipc/stage.capnp.

@0xb6f74937ff3e49c2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

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
    keys @6 :List(Key);
    # Checked against the family's signed metadata: Debian's Release, RPM's
    # repomd.xml.
    indexFiles @7 :List(IndexFile);
    union {
      deb :group {
        suite @1 :Text;         # expected Suite or Codename
        architectures @2 :List(Text);
        components @3 :List(Text);
        releaseFiles :union {
          inRelease @4 :FdRef;
          detached @5 :DetachedRelease;
        }
      }
      rpm :group {
        repomd @8 :FdRef;       # repodata/repomd.xml
        # repomd.xml.asc, a detached signature by one of `keys`; unset when
        # the repository publishes none (repoGPGCheck off): the packages'
        # header signatures are then the only anchor.
        repomdSignature @9 :FdRef;
      }
    }
  }
  # RPM: a package's header signature must verify with one of the keys of
  # the repository it comes from.
  struct RepositoryKeys {
    repo @0 :Text;
    keys @1 :List(Key);
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
  checkArchiveContents @2 :Bool;  # also open each package archive and check its members
  checkTime @3 :Int64 = -1;       # unix time for Valid-Until; -1 = now
  packageFamily :union {
    deb @4 :Void;                 # .deb files: hash and size
    rpm @5 :List(RepositoryKeys); # .rpm files: hash, size, header signature and payload digest
  }
}

struct VerifierResult {
  struct Repo {
    name @0 :Text;
    signerFingerprint @1 :Text;
    date @2 :Int64;             # Release Date, unix time
    validUntil @3 :Int64 = -1;  # -1 = no Valid-Until
    suite @4 :Text;
    codename @5 :Text;
    # Every file the signed metadata lists with its hash (RPM: repomd.xml's
    # <data> entries, type in `kind`), so that the supervisor fetches the
    # indexes it names after the signature was checked.
    listedFiles @6 :List(ListedFile);
    # Debian: the Release offers its files by hash (by-hash/SHA256/<hash>).
    acquireByHash @7 :Bool;
  }
  struct ListedFile {
    kind @0 :Text;              # RPM: "primary", "filelists", ...
    relativePath @1 :Text;      # from the repository's base URL
    sha256 @2 :Text;
    size @3 :UInt64;            # 0: not listed
    uncompressedSha256 @4 :Text;
    uncompressedSize @5 :UInt64;
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
