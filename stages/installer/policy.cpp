// The installer unpacks packages and runs dpkg and maintainer scripts in a
// chroot of the image tree: the widest policy. Everything happens inside the
// stage's user namespace, so "root" here is the caller (or its subuid range)
// on the host. Mounting stays forbidden: the launcher mounts /proc and /dev
// of the image tree before seccomp is loaded.
#include "stages/installer/policy.hpp"

#include <sys/resource.h>
#include <linux/capability.h>
#include <sys/socket.h>

#include <cerrno>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::installer {

sandbox::StagePolicy installer_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::program_runner_policy();  // dpkg and maintainer scripts
  seccomp.allow(sc::ownership());     // chown to package users, file capabilities
  seccomp.allow(sc::device_nodes());  // dpkg tries mknod; the kernel refuses it in a userns
  seccomp.allow(sc::set_ids());       // scripts run commands as other users (su, runuser)
  seccomp.allow(sc::change_root());
  seccomp.allow(sc::local_sockets());  // scripts talking to a local daemon they started
  sc::allow_unix_socket_creation(seccomp);
  // Other families fail instead of killing the caller: shadow's useradd and
  // groupadd open an audit netlink socket and carry on when the family is
  // unsupported, as they do on kernels without audit.
  seccomp.set_if(SCMP_SYS(socket), sandbox::fail_with(EAFNOSUPPORT), {SCMP_A0(SCMP_CMP_NE, AF_UNIX)});
  sc::allow_any_ioctl(seccomp);        // terminal and file ioctls of arbitrary scripts

  sandbox::StagePolicy policy{"installer", std::move(seccomp)};
  // What dpkg and maintainer scripts need to give every file its owner, mode
  // and capabilities, and to chroot. Not CAP_MKNOD: a user namespace cannot
  // create device nodes at all (images get /dev from the booted system).
  policy.capabilities = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,
                         CAP_SETUID, CAP_SETGID,       CAP_SETFCAP, CAP_SYS_CHROOT};
  // No address-space limit: maintainer scripts run arbitrary tools.
  // One file of the image tree: a package member or what a configuration
  // command writes (a swap file); kernels and initramfs are ~100 MB.
  policy.rlimits.push_back({RLIMIT_FSIZE, 16ULL << 30, 16ULL << 30});
  return policy;
}

std::vector<sandbox::HostProgram> installer_host_programs(const sandbox::ImageFeatures& features) {
  std::vector<sandbox::HostProgram> programs = {{"cp", "coreutils"}};
  if (features.uki) programs.push_back({"objcopy", "binutils"});
  // The rpm family installs with the host's rpm (rpm/rpm_transaction.hpp),
  // and rpmkeys imports the repository keys into the image's rpmdb.
  if (features.package_family == "rpm") {
    programs.push_back({"rpm", "rpm"});
    programs.push_back({"rpmkeys", "rpm"});
  }
  return programs;
}

}  // namespace stage::installer
