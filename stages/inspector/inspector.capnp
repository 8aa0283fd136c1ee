# stage-inspector's contract: reads an image the user names, which is
# untrusted input (a downloaded image, one built elsewhere), with the host's
# sfdisk, blkid and debugfs inside its sandbox, and reports what it holds.
# When it inspects it never writes: the image is an fd the supervisor opened
# read-only, a second seccomp filter the stage stacks refuses every open for
# writing, and RLIMIT_FSIZE 0 stops a write to any regular file. Asked to
# convert a qcow2 image, it writes only the raw image to `rawOutput` (an
# unlinked temporary file of the supervisor's), at most the virtual size. The envelope that carries it:
# ipc/stage.capnp.

@0xc0a51f4d2e9b7a13;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

struct InspectorRequest {
  image @0 :FdRef;              # a regular file, read-only
  imageName @1 :Text;           # the path as the user named it, for messages only
  extractSbom @2 :Bool;         # return the embedded SBOM's bytes (inspect --extract-sbom)
  listFiles @3 :Bool;           # return every file of each ext2/3/4 and FAT file system (compare)
  convertQcow2 @4 :Bool;        # instead of inspecting: `image` is qcow2, write it as raw to rawOutput
  rawOutput @5 :FdRef;          # with convertQcow2: an empty regular file opened for writing
}

struct InspectorResult {
  table @0 :PartitionTable;
  partitions @1 :List(Partition);
  osRelease @2 :List(KeyValue);  # /etc/os-release of the root file system, in file order
  packages @3 :List(Package);    # /var/lib/dpkg/status, installed ones
  users @4 :List(User);          # /etc/passwd
  groups @5 :List(Group);        # /etc/group
  rootPartition @6 :UInt32;      # index of the partition these came from; 0 = none found
  bootFiles @7 :List(BootFile);  # every file under EFI/ of each FAT partition
  bootConfigs @8 :List(BootConfig);  # grub.cfg, loader.conf, loader/entries/*.conf
  kernelEntries @9 :List(KernelEntry);  # kernels and command lines the configurations name
  sbomPath @10 :Text;           # the SBOM in the root's /usr/share/sbom/ (*.json); empty: none
  sbom @11 :Data;               # its bytes, when extractSbom was asked
  ukis @12 :List(Uki);          # unified kernel images: EFI/Linux/*.efi of each FAT partition
  files @13 :List(FileEntry);   # when listFiles was asked: sorted by partition and path
  virtualSize @14 :UInt64;      # with convertQcow2: the raw image's size in bytes

  struct FileEntry {
    partition @0 :UInt32;
    path @1 :Text;              # "/etc/hostname"
    type @2 :Text;              # regular, directory, symlink, char, block, fifo, socket
    mode @3 :UInt32;            # permission bits (07777); 0 on FAT
    uid @4 :UInt32;
    gid @5 :UInt32;
    size @6 :UInt64;            # 0 for a directory
    sha256 @7 :Data;            # a regular file's content (32 bytes); empty: not hashed
    linkTarget @8 :Text;        # a symbolic link's target
  }

  struct Uki {
    partition @0 :UInt32;
    path @1 :Text;
    sections @2 :List(UkiSection);
    cmdline @3 :Text;           # .cmdline (also a kernelEntries item)
    osRelease @4 :Text;         # .osrel
  }

  struct UkiSection {
    name @0 :Text;
    size @1 :UInt64;
  }

  struct BootFile {
    partition @0 :UInt32;
    path @1 :Text;              # "/EFI/BOOT/BOOTX64.EFI"
  }

  struct BootConfig {
    partition @0 :UInt32;
    path @1 :Text;
    text @2 :Text;
  }

  struct KernelEntry {
    config @0 :Text;            # the configuration's path
    kernel @1 :Text;            # GRUB's linux or the entry's linux line
    options @2 :Text;           # its command line
    verityRootHash @3 :Text;    # roothash= on it
  }

  struct PartitionTable {
    label @0 :Text;             # "gpt" or "dos"
    id @1 :Text;                # GPT disk GUID (upper case) or MBR disk id (0x...)
    sectorSize @2 :UInt32;
    firstLba @3 :UInt64;
    lastLba @4 :UInt64;
  }

  struct Partition {
    index @0 :UInt32;
    name @1 :Text;              # GPT partition name
    typeGuid @2 :Text;          # GPT type GUID (upper case) or MBR type (hex)
    uniqueGuid @3 :Text;        # GPT partition GUID (upper case)
    firstLba @4 :UInt64;
    lastLba @5 :UInt64;
    sizeBytes @6 :UInt64;
    fsType @7 :Text;            # blkid's TYPE; empty when none was recognised
    fsLabel @8 :Text;
    fsUuid @9 :Text;
    fsSizeBytes @10 :UInt64;    # blkid's FSSIZE; 0 when it does not say
  }

  struct KeyValue {
    key @0 :Text;
    value @1 :Text;
  }

  struct Package {
    name @0 :Text;
    version @1 :Text;
    architecture @2 :Text;
  }

  struct User {
    name @0 :Text;
    uid @1 :UInt32;
    gid @2 :UInt32;
    gecos @3 :Text;
    home @4 :Text;
    shell @5 :Text;
  }

  struct Group {
    name @0 :Text;
    gid @1 :UInt32;
    members @2 :List(Text);
  }
}
