// The inspector reads an image that may be hostile with sfdisk, blkid,
// debugfs and mtools, and never writes: not the image, not anything else. Beyond the
// baseline it may only fork and exec those programs. Every open(2) that asks
// for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC) fails with EROFS, so a
// program taken over by the image cannot reopen the image's fd
// (/proc/self/fd/N) for writing or truncate it; the file-writing syscalls
// (truncate, fallocate, rename, unlink, ...) are not allowed at all; and
// RLIMIT_FSIZE 0 stops a write of a byte to any regular file. Output goes
// to the stage through pipes. No network, no capabilities, no host path.
#include "stages/inspector/policy.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/resource.h>

#include <cerrno>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

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

// open(2) flags are argument `flags_arg`: read-only opens are allowed, each
// flag that writes gets EROFS.
void allow_read_only_opens(sandbox::SeccompPolicy& policy, int nr, unsigned flags_arg) {
  constexpr unsigned kWriting = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;
  policy.allow_if(nr, {SCMP_CMP(flags_arg, SCMP_CMP_MASKED_EQ, kWriting, 0)});
  for (unsigned flag : {unsigned{O_WRONLY}, unsigned{O_RDWR}, unsigned{O_CREAT}, unsigned{O_TRUNC}}) {
    policy.set_if(nr, sandbox::fail_with(EROFS), {SCMP_CMP(flags_arg, SCMP_CMP_MASKED_EQ, flag, flag)});
  }
}

}  // namespace

sandbox::StagePolicy inspector_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = baseline_without_opens();
  allow_read_only_opens(seccomp, SCMP_SYS(open), 1);
  allow_read_only_opens(seccomp, SCMP_SYS(openat), 2);
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

  sandbox::StagePolicy policy{"inspector", std::move(seccomp)};
  policy.rlimits.push_back({RLIMIT_AS, 4ULL << 30, 4ULL << 30});
  policy.rlimits.push_back({RLIMIT_FSIZE, 0, 0});
  return policy;
}

std::vector<sandbox::HostProgram> inspector_host_programs(const sandbox::ImageFeatures&) {
  return {{"sfdisk", "fdisk"}, {"blkid", "util-linux"}, {"debugfs", "e2fsprogs"}, {"mdir", "mtools"}, {"mtype", "mtools"}};
}

}  // namespace stage::inspector
