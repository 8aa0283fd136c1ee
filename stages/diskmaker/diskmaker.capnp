# stage-diskmaker's contract: partitions, file systems, boot loader, output
# formats. The envelope that carries it: ipc/stage.capnp.

@0xd2cc57921afb8d1e;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;
using import "/ipc/shared.capnp".Bootloader;

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
    extHashSeed @13 :Text;      # ext: the directory hash seed, a UUID ("" = mke2fs's random one)
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
  verity @10 :Verity;           # immutability.enabled ("" ids: no dm-verity)
  phase @11 :Phase;
  diskId @12 :Text;             # GPT: the disk GUID; MBR: a UUID whose first 8 hex digits are
                                # the disk identifier ("" = sfdisk's random one)

  # Secure Boot splits the run in two so the supervisor can sign the ESP's
  # EFI binaries between them (after the root hash is in the UKI):
  # `partitions` writes the table and every file system but the FAT ones,
  # copies each FAT partition's files (root hash in) to
  # <outputDir>/.<outputName>.esp/<partition id>/ and keeps the partial disk
  # .<outputName>.raw.partial; `finish` makes the FAT partitions from those
  # directories in that disk, then the artifacts, and removes the .esp
  # directory. The result of `partitions` has no artifacts.
  enum Phase {
    whole @0;
    partitions @1;
    finish @2;
  }

  # The root file system is made, then its hash tree with `veritysetup
  # format` (root partition image as data, hash partition image as hash
  # device); the root hash replaces ipc/shared.capnp's rootHashPlaceholder
  # in the ESP's files before the ESP is made.
  struct Verity {
    dataPartitionId @0 :Text;   # the partition mounted at /
    hashPartitionId @1 :Text;   # an unmounted partition the hash tree fills
  }
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
  rootHash @2 :Text;            # dm-verity root hash (hex), "" without verity
}
