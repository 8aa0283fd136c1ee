# stage-installer's contract: unpacks and configures the root tree. The
# envelope that carries it: ipc/stage.capnp.

@0xd2f46ec49b9c33c3;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");
using import "/ipc/shared.capnp".FdRef;
using import "/ipc/shared.capnp".Bootloader;

struct InstallerRequest {
  struct PackageFile {
    file @0 :FdRef;
    name @1 :Text;
    version @2 :Text;
    architecture @3 :Text;
    sha256 @6 :Text;            # of the package file, for the SBOM
    size @7 :UInt64;
    downloadUrl @8 :Text;
    repository @9 :Text;        # repository id from the lockfile
    union {
      deb :group {
        essential @4 :Bool;
        preDepends @5 :List(Text);
      }
      rpm :group {
        # Installed in a second transaction without scriptlets or triggers
        # (provider data: azl3's initramfs, whose %posttrans runs host-only
        # dracut).
        deferred @10 :Bool;
      }
    }
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
    startupScript @8 :Text;     # "" = none; else the login shell: a file of the image, executable
    passwordMaxAge @9 :Int32 = -2;  # days (chage -M); -1 = no limit; -2 = the distribution's default
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
    purlType @5 :Text;          # "deb" or "rpm": pkg:<type>/ package URLs (provider config.yml)
  }
  struct Grub {
    # The distribution's GRUB names (provider config.yml `grub:`); the
    # defaults are Debian's.
    mkstandalone @0 :Text = "grub-mkstandalone";      # run in the chroot, from the image's /usr/bin
    modulesDir @1 :Text = "/usr/lib/grub/x86_64-efi"; # the EFI platform's modules
    configDir @2 :Text = "/boot/grub";                # holds the tree's grub.cfg
    toolsPackage @3 :Text = "grub-common";            # ships mkstandalone: named when it is missing
    modulesPackage @4 :Text = "grub-efi-amd64-bin";   # ships modulesDir: named when it is missing
    # Secure Boot (request.secureBoot) with GRUB (provider config.yml
    # `grub: secureBoot:`); "" = not described for this distribution.
    shim @5 :Text;              # the unsigned shim in the image: "/usr/lib/shim/shimx64.efi"
    shimPackage @6 :Text;       # ships shim: named when it is missing ("shim-unsigned")
    sbat @7 :Text;              # GRUB's SBAT CSV (grub-mkstandalone --sbat)
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
  sudoGroup @17 :Text;             # the group a sudo user joins: "sudo", "wheel" (provider config.yml)
  initrdFileName @18 :Text;        # in /boot, "{kver}" = kernel version: "initrd.img-{kver}" (provider config.yml)
  packageFamily :union {
    deb @19 :Void;                 # the target's dpkg installs
    rpm :group {                   # the host's rpm installs into rootDir
      dbPath @20 :Text;            # the image's rpmdb, e.g. "/var/lib/rpm" (provider config.yml)
      keys @21 :List(FdRef);       # armored repository keys imported into that rpmdb
    }
  }
  grub @22 :Grub;                  # unset: Debian's names
  extraModules @23 :List(Text);    # kernel.enableExtraModules: kernel modules put into the initramfs
  verity @24 :Verity;              # immutability.enabled: a dm-verity root ("" part UUIDs: none)
  secureBoot @25 :Bool;            # Secure Boot keys given: the supervisor signs the ESP's EFI binaries
                                   # afterwards; GRUB then boots through shim with its menu signed
  espFsUuid @26 :Text;             # the ESP's FAT volume id ("ABCD-1234"); "" = unknown
  initramfsCache @27 :FdRef;       # read-only directory of kept initramfs images, one file
                                   # per key (initramfs_cache.hpp); unset: make it every time
}

# A read-only root on dm-verity: the kernel command line names the root's
# data and hash partitions by GPT partition UUID and carries
# ipc/shared.capnp's rootHashPlaceholder as `roothash=`; the initramfs opens
# /dev/mapper/root with it (dracut's systemd-veritysetup).
struct Verity {
  dataPartUuid @0 :Text;           # the partition mounted at /
  hashPartUuid @1 :Text;           # the partition holding the hash tree
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
  initramfsKey @8 :Text;        # the initramfs at initrdPath may be kept under this key ("" = not)
  initramfsReused @9 :Bool;     # it was copied from initramfsCache
  initramfsTouched @10 :List(Text);  # what making it only touched (times), kept with it
}
