# stage-isomaker's contract: an initrd (newc cpio) from a root tree, and a
# hybrid live/installer ISO from a live tree, its kernel and initrd. The
# envelope that carries it: ipc/stage.capnp. docs/stages/isomaker.md.

@0xbc1999bc1f2c724c;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;

struct IsomakerRequest {
  union {
    makeInitrd @0 :MakeInitrdRequest;
    makeIso @1 :MakeIsoRequest;
    makeIsoLoader @2 :MakeIsoLoaderRequest;
  }
}

struct IsomakerResult {
  union {
    makeInitrd @0 :MakeInitrdResult;
    makeIso @1 :MakeIsoResult;
    makeIsoLoader @2 :MakeIsoLoaderResult;
  }
}

# A file the stage wrote into its outputDir.
struct OutputFile {
  name @0 :Text;                # file name inside outputDir
  sha256 @1 :Text;              # lower-case hex
  size @2 :UInt64;              # bytes
}

struct MakeInitrdRequest {
  enum Compression {
    gzip @0;
    zstd @1;
    xz @2;
    none @3;
  }
  treeDir @0 :FdRef;            # the root tree, bound read-only
  excludedPaths @1 :List(Text); # absolute paths in the tree, left out with all below them
  compression @2 :Compression;
  clampTime @3 :Int64 = -1;     # epoch seconds: every mtime is at most this; -1 = as they are
  kernelPath @4 :Text;          # absolute path in the tree of the kernel copied beside the initrd
  outputDir @5 :FdRef;          # writable
  outputName @6 :Text;          # the initrd's file name, no '/'
}

struct MakeInitrdResult {
  initrd @0 :OutputFile;
  kernel @1 :OutputFile;        # the kernel under its own file name
}

struct MakeIsoRequest {
  enum PackageFamily {
    none @0;                    # no /cache-repo
    deb @1;                     # flat repository: Packages(.gz) + Release (apt-ftparchive)
    rpm @2;                     # repodata/ (createrepo_c)
  }
  struct ExtraFile {
    source @0 :FdRef;           # a regular file
    isoPath @1 :Text;           # absolute path on the medium, e.g. "/install/manifest.json"
  }
  struct Menu {
    title @0 :Text;             # of the default entry
    cmdline @1 :Text;           # the live environment's kernel command line
    timeoutSeconds @2 :UInt32 = 5;
  }
  struct Grub {
    mkimage @0 :Text = "/usr/bin/grub-mkimage";        # in the tree
    efiModulesDir @1 :Text = "/usr/lib/grub/x86_64-efi";  # in the tree
    biosModulesDir @2 :Text = "/usr/lib/grub/i386-pc";   # in the tree; read when biosBoot
  }
  # xorriso and the indexers read MakeIso's files by name: a path bound into
  # the stage, or a slot, read as /proc/self/fd/N (the tools inherit it).
  treeDir @0 :FdRef;            # the live tree (GRUB and its modules), bound read-only
  kernel @1 :FdRef;             # -> /images/vmlinuz
  initrd @2 :FdRef;             # -> /images/initrd.img
  extraFiles @3 :List(ExtraFile);
  packageFamily @4 :PackageFamily;
  packages @5 :List(FdRef);     # package files (by path: more than a frame's fds), flat under /cache-repo
  menu @6 :Menu;
  volumeId @7 :Text = "ICT_CDROM";
  clampTime @8 :Int64 = -1;     # epoch seconds: file and volume times; -1 = now
  biosBoot @9 :Bool;            # add i386-pc El Torito boot and the MBR hybrid
  grub @10 :Grub;
  outputDir @11 :FdRef;         # writable; holds the scratch tree while the stage runs
  outputName @12 :Text;         # the ISO's file name, no '/'
  # Secure Boot (x86_64 EFI): the EFI image holds the signed shim as
  # EFI/BOOT/BOOTX64.EFI and the signed GRUB beside it; `kernel` is then the
  # signed kernel. Without: the tree's GRUB alone as the boot file.
  secureBoot @13 :SecureBoot;
  struct SecureBoot {
    shim @0 :FdRef;             # the live tree's shim, its CA dropped, signed: EFI/BOOT/BOOTX64.EFI
    loader @1 :FdRef;           # makeIsoLoader's GRUB, signed: EFI/BOOT/grubx64.efi
  }
}

# The GRUB the firmware runs through shim under Secure Boot: every module it
# needs built in (none is loaded from the medium under lockdown), the OS
# data's SBAT, and the whole menu inside (nothing read from the medium but
# the kernel, which shim checks, and the initrd). The supervisor signs it
# and hands it to makeIso.
struct MakeIsoLoaderRequest {
  treeDir @0 :FdRef;            # the live tree (its grub-mkimage and modules), bound read-only
  grub @1 :MakeIsoRequest.Grub;
  menu @2 :MakeIsoRequest.Menu;
  sbat @3 :Text;                # GRUB's SBAT CSV
  outputDir @4 :FdRef;          # writable
  outputName @5 :Text;          # the loader's file name, no '/'
}

struct MakeIsoLoaderResult {
  loader @0 :OutputFile;
}

struct MakeIsoResult {
  iso @0 :OutputFile;
}
