// The inspector reads an image that may be hostile with sfdisk, blkid,
// debugfs and mtools, and never writes: not the image, not anything else. Beyond the
// baseline it may only fork and exec those programs. Before it inspects, the
// stage stacks a second filter (restrict_to_reading) and lowers RLIMIT_FSIZE
// to 0: every open(2) that asks for writing (O_WRONLY, O_RDWR, O_CREAT,
// O_TRUNC) fails with EROFS, so a program taken over by the image cannot
// reopen the image's fd (/proc/self/fd/N) for writing or truncate it; the
// file-writing syscalls (truncate, fallocate, rename, unlink, ...) are not
// allowed at all; and no byte can be written to a regular file. Output goes
// to the stage through pipes. No network, no capabilities, no host path.
//
// Its other job, a qcow2 image made raw (qcow2.hpp), needs the launch
// policy to let qemu-img open its output, /dev/fd/4, read-write: O_RDWR
// without O_CREAT or O_TRUNC is allowed there, and the stage itself sizes
// the output with ftruncate. The image qemu-img reads is then a copy the
// supervisor made in an unlinked temporary file, never the user's file,
// and RLIMIT_FSIZE is lowered to the image's virtual size.
#include "stages/inspector/policy.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <seccomp.h>

#include <cerrno>
#include <utility>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"
#include "base/error.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/inspector/qcow2.hpp"

namespace stage::inspector {
namespace {

bool is_open_call(int nr) {
  return nr == SCMP_SYS(open) || nr == SCMP_SYS(openat) || nr == SCMP_SYS(openat2) || nr == SCMP_SYS(creat);
}

// The baseline with its unconditional opens left out, so that argument rules decide them.
sandbox::SeccompPolicy baseline_without_opens() {
  const sandbox::SeccompPolicy baseline = sandbox::baseline_policy();
  sandbox::SeccompPolicy policy(baseline.default_decision());
  for (const auto& [nr, entry] : baseline.entries()) {
    if (is_open_call(nr)) continue;
    if (entry.forbidden) {
      policy.forbid({"always_forbidden", {nr}});
      continue;
    }
    if (entry.unconditional) policy.set(nr, *entry.unconditional);
    for (const sandbox::ConditionalRule& rule : entry.conditional) policy.set_if(nr, rule.decision, rule.conditions);
  }
  return policy;
}

// open(2) flags are argument `flags_arg`: opens without O_WRONLY, O_CREAT
// and O_TRUNC are allowed (O_RDWR: qemu-img's output), each of those gets EROFS.
void allow_reopening_opens(sandbox::SeccompPolicy& policy, int nr, unsigned flags_arg) {
  constexpr unsigned kCreating = O_WRONLY | O_CREAT | O_TRUNC;
  policy.allow_if(nr, {SCMP_CMP(flags_arg, SCMP_CMP_MASKED_EQ, kCreating, 0)});
  for (unsigned flag : {unsigned{O_WRONLY}, unsigned{O_CREAT}, unsigned{O_TRUNC}}) {
    policy.set_if(nr, sandbox::fail_with(EROFS), {SCMP_CMP(flags_arg, SCMP_CMP_MASKED_EQ, flag, flag)});
  }
}

}  // namespace

sandbox::StagePolicy inspector_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = baseline_without_opens();
  allow_reopening_opens(seccomp, SCMP_SYS(open), 1);
  allow_reopening_opens(seccomp, SCMP_SYS(openat), 2);
  // openat2's flags are in memory the filter cannot read; glibc uses openat.
  seccomp.set(SCMP_SYS(openat2), sandbox::fail_with(ENOSYS));
  seccomp.set(SCMP_SYS(creat), sandbox::fail_with(EROFS));
  seccomp.allow(sc::process_spawn());
  sc::allow_clone_processes(seccomp);
  // debugfs: fsync of the read-only image fd (writes nothing), and asks
  // whether the "device" discards to zeroes, which a file is not.
  seccomp.set(SCMP_SYS(fsync), sandbox::kAllowed);
  seccomp.set_if(SCMP_SYS(ioctl), sandbox::fail_with(ENOTTY),
                 {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, static_cast<unsigned>(BLKDISCARDZEROES))});
  // mtools drops privileges it does not have (setresuid, setgid to its own ids).
  seccomp.allow(sc::set_ids());
  // glibc's user lookups try nscd's socket first, then read no file here.
  seccomp.set(SCMP_SYS(socket), sandbox::fail_with(EACCES));
  // Converting qcow2: the stage sizes the raw output; qemu-img reads and sets
  // the NUMA policy of its own memory and the timer slack of its threads.
  seccomp.set(SCMP_SYS(ftruncate), sandbox::kAllowed);
  seccomp.set(SCMP_SYS(get_mempolicy), sandbox::kAllowed);
  seccomp.set(SCMP_SYS(set_mempolicy), sandbox::kAllowed);
  seccomp.allow_if(SCMP_SYS(prctl), {SCMP_A0(SCMP_CMP_EQ, PR_SET_TIMERSLACK)});

  sandbox::StagePolicy policy{"inspector", std::move(seccomp)};
  policy.rlimits.push_back({RLIMIT_AS, 4ULL << 30, 4ULL << 30});
  // Lowered by the stage to 0 (inspecting) or the virtual size (converting).
  policy.rlimits.push_back({RLIMIT_FSIZE, kMaxVirtualSize, kMaxVirtualSize});
  return policy;
}

void restrict_to_reading() {
  sandbox::SeccompPolicy policy(sandbox::kAllowed);
  for (const auto& [nr, arg] : {std::pair{SCMP_SYS(open), 1u}, std::pair{SCMP_SYS(openat), 2u}}) {
    for (unsigned flag : {unsigned{O_WRONLY}, unsigned{O_RDWR}, unsigned{O_CREAT}, unsigned{O_TRUNC}}) {
      policy.set_if(nr, sandbox::fail_with(EROFS), {SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, flag, flag)});
    }
  }
  policy.set(SCMP_SYS(ftruncate), sandbox::fail_with(EPERM));
  // As forbid_exec(): libseccomp's probes of the kernel (seccomp(2)) are
  // trapped by the running filter; compiling needs none of what they find.
  // Compiled before RLIMIT_FSIZE is 0: libseccomp exports through a memfd.
  seccomp_api_set(1);
  const sandbox::BpfProgram program = sandbox::SeccompFilter(policy).export_bpf();
  const rlimit none{0, 0};
  base::check_syscall(::setrlimit(RLIMIT_FSIZE, &none), "lower", "RLIMIT_FSIZE to 0");
  const int rc = sandbox::load_bpf(program);
  if (rc < 0) {
    errno = -rc;
    base::check_syscall(-1, "load", "the inspector's read-only seccomp filter");
  }
}

std::vector<sandbox::HostProgram> inspector_host_programs(const sandbox::ImageFeatures&) {
  return {{"sfdisk", "fdisk"}, {"blkid", "util-linux"}, {"debugfs", "e2fsprogs"}, {"mdir", "mtools"}, {"mtype", "mtools"}};
}

}  // namespace stage::inspector
