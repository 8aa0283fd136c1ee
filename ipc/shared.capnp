# Types the contracts of more than one stage use. Apart from ipc/stage.capnp
# (which imports every stage's schema) so that a stage's schema can import
# them without an import cycle.

@0xccf0b6488ae58b77;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ipc::proto");

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

struct Bootloader {
  type @0 :Text;                # "efi", "legacy" or "none" (an initrd image)
  provider @1 :Text;            # "grub" or "systemd-boot"
}

# dm-verity root (systemConfig.immutability.enabled). The installer writes
# this text as the `roothash=` value of the kernel command line it puts in
# the UKI; the disk maker, once it has made the root file system and its
# hash tree, replaces it in the ESP's files with the root hash (64 hex
# digits of SHA-256, the same length), before the ESP is made and signed.
const rootHashPlaceholder :Text = "os-image-composer.verity.roothash.placeholder.XXXXXXXXXXXXXXXXXX";
