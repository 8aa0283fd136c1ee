#include "sandbox/syscall_sets.hpp"

#include <cerrno>
#include <cstdint>
#include <vector>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/netlink.h>

namespace sandbox::syscalls {

namespace {

// fchmodat2 (Linux 6.6) is fchmodat with flags; systemd 256 and later call
// it directly (Debian 13's systemd-sysusers, in systemd's postinst) and a
// trap there fails the package. Kernel headers before 6.6 lack its number,
// 452 in the syscall table every architecture shares.
#ifdef __NR_fchmodat2
constexpr int kFchmodat2 = __NR_fchmodat2;
#else
constexpr int kFchmodat2 = 452;
#endif

}  // namespace

SyscallSet process_exit() {
  return {"process_exit", {SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall)}};
}

SyscallSet memory() {
  return {"memory", {SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
                     SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mincore), SCMP_SYS(msync)}};
}

SyscallSet memory_locking() {
  return {"memory_locking", {SCMP_SYS(mlock), SCMP_SYS(mlock2), SCMP_SYS(munlock),
                             SCMP_SYS(mlockall), SCMP_SYS(munlockall)}};
}

SyscallSet fd_io() {
  return {"fd_io",
          {SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
           SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2),
           SCMP_SYS(pwritev2), SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(lseek),
           SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fcntl), SCMP_SYS(pipe),
           SCMP_SYS(pipe2), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
           SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
           SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(eventfd),
           SCMP_SYS(eventfd2), SCMP_SYS(sendfile), SCMP_SYS(copy_file_range), SCMP_SYS(splice),
           SCMP_SYS(tee), SCMP_SYS(flock), SCMP_SYS(memfd_create)}};
}

SyscallSet socket_io() {
  return {"socket_io",
          {SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
           SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
           SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername)}};
}

SyscallSet filesystem_read() {
  return {"filesystem_read",
          {SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(stat), SCMP_SYS(fstat),
           SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(statfs),
           SCMP_SYS(fstatfs), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
           SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents), SCMP_SYS(getdents64),
           SCMP_SYS(getcwd), SCMP_SYS(chdir), SCMP_SYS(fchdir), SCMP_SYS(fadvise64),
           SCMP_SYS(getxattr), SCMP_SYS(lgetxattr), SCMP_SYS(fgetxattr), SCMP_SYS(listxattr),
           SCMP_SYS(llistxattr), SCMP_SYS(flistxattr), SCMP_SYS(umask)}};
}

SyscallSet filesystem_write() {
  return {"filesystem_write",
          {SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(unlink),
           SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
           SCMP_SYS(symlink), SCMP_SYS(symlinkat), SCMP_SYS(link), SCMP_SYS(linkat),
           SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat), kFchmodat2, SCMP_SYS(truncate),
           SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(utime), SCMP_SYS(utimes),
           SCMP_SYS(utimensat), SCMP_SYS(futimesat), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
           SCMP_SYS(sync), SCMP_SYS(syncfs), SCMP_SYS(sync_file_range), SCMP_SYS(creat)}};
}

SyscallSet ownership() {
  return {"ownership",
          {SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(fchownat), SCMP_SYS(lchown),
           SCMP_SYS(setxattr), SCMP_SYS(lsetxattr), SCMP_SYS(fsetxattr), SCMP_SYS(removexattr),
           SCMP_SYS(lremovexattr), SCMP_SYS(fremovexattr)}};
}

SyscallSet device_nodes() { return {"device_nodes", {SCMP_SYS(mknod), SCMP_SYS(mknodat)}}; }

SyscallSet time() {
  return {"time",
          {SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
           SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(alarm),
           SCMP_SYS(getitimer), SCMP_SYS(setitimer), SCMP_SYS(timer_create),
           SCMP_SYS(timer_settime), SCMP_SYS(timer_gettime), SCMP_SYS(timer_getoverrun),
           SCMP_SYS(timer_delete), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
           SCMP_SYS(timerfd_gettime), SCMP_SYS(times)}};
}

SyscallSet signals() {
  return {"signals",
          {SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
           SCMP_SYS(rt_sigpending), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(rt_sigsuspend),
           SCMP_SYS(sigaltstack), SCMP_SYS(kill), SCMP_SYS(tgkill), SCMP_SYS(tkill),
           SCMP_SYS(signalfd), SCMP_SYS(signalfd4), SCMP_SYS(pause)}};
}

SyscallSet threads() {
  return {"threads",
          {SCMP_SYS(futex), SCMP_SYS(futex_waitv), SCMP_SYS(set_robust_list),
           SCMP_SYS(get_robust_list), SCMP_SYS(set_tid_address), SCMP_SYS(rseq),
           SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_getparam),
           SCMP_SYS(sched_getscheduler), SCMP_SYS(arch_prctl), SCMP_SYS(membarrier)}};
}

SyscallSet process_info() {
  return {"process_info",
          {SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(getuid),
           SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getresuid),
           SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(getpgrp), SCMP_SYS(getpgid),
           SCMP_SYS(getsid), SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(getrusage),
           SCMP_SYS(getrlimit), SCMP_SYS(getcpu), SCMP_SYS(getpriority), SCMP_SYS(capget)}};
}

SyscallSet randomness() { return {"randomness", {SCMP_SYS(getrandom)}}; }

SyscallSet process_spawn() {
  return {"process_spawn",
          {SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve), SCMP_SYS(execveat),
           SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(setpgid), SCMP_SYS(setsid),
           SCMP_SYS(pidfd_open), SCMP_SYS(setpriority)}};
}

SyscallSet local_sockets() {
  return {"local_sockets",
          {SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept),
           SCMP_SYS(accept4)}};
}

SyscallSet set_ids() {
  return {"set_ids",
          {SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid),
           SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setfsuid), SCMP_SYS(setfsgid),
           SCMP_SYS(setgroups)}};
}

SyscallSet change_root() { return {"change_root", {SCMP_SYS(chroot)}}; }

SyscallSet capability_changes() { return {"capability_changes", {SCMP_SYS(capset)}}; }

SyscallSet fs_admin() {
  return {"fs_admin",
          {SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(move_mount),
           SCMP_SYS(fsopen), SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick),
           SCMP_SYS(open_tree), SCMP_SYS(mount_setattr), SCMP_SYS(swapon), SCMP_SYS(swapoff),
           SCMP_SYS(quotactl), SCMP_SYS(quotactl_fd), SCMP_SYS(acct),
           SCMP_SYS(name_to_handle_at), SCMP_SYS(open_by_handle_at), SCMP_SYS(lookup_dcookie),
           SCMP_SYS(nfsservctl), SCMP_SYS(uselib), SCMP_SYS(fanotify_init)}};
}

SyscallSet kernel_admin() {
  return {"kernel_admin",
          {SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
           SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(bpf),
           SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd), SCMP_SYS(reboot),
           SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(syslog), SCMP_SYS(settimeofday),
           SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex),
           SCMP_SYS(sethostname), SCMP_SYS(setdomainname), SCMP_SYS(vhangup)}};
}

SyscallSet cross_process() {
  return {"cross_process",
          {SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
           SCMP_SYS(kcmp), SCMP_SYS(setns), SCMP_SYS(pidfd_getfd), SCMP_SYS(process_madvise)}};
}

SyscallSet kernel_keyring() {
  return {"kernel_keyring", {SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key)}};
}

void allow_clone_threads(SeccompPolicy& policy) {
  // One comparison per argument: libseccomp 2.5 rejects two on the same one.
  policy.allow_if(SCMP_SYS(clone), {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | kNamespaceFlags,
                                            CLONE_THREAD)});
}

void allow_clone_processes(SeccompPolicy& policy) {
  policy.allow_if(SCMP_SYS(clone), {SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0)});
}

void allow_unshare_without_namespaces(SeccompPolicy& policy) {
  policy.allow_if(SCMP_SYS(unshare),
                  {SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags | kNewTimeNamespace, 0)});
}

void allow_safe_prctl(SeccompPolicy& policy) {
  for (int option : {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_DUMPABLE,
                     PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_SET_NO_NEW_PRIVS,
                     PR_GET_NO_NEW_PRIVS, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_CAP_AMBIENT,
                     PR_GET_SECCOMP, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_GET_SECUREBITS,
                     PR_SET_VMA}) {
    policy.allow_if(SCMP_SYS(prctl), {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(option))});
  }
  // Adding a filter: it can only restrict further, since every loaded
  // filter runs and the strictest decision wins (forbid_exec()).
  policy.allow_if(SCMP_SYS(prctl), {SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP), SCMP_A1(SCMP_CMP_EQ, SECCOMP_MODE_FILTER)});
}

void allow_own_prlimit(SeccompPolicy& policy) {
  policy.allow_if(SCMP_SYS(prlimit64), {SCMP_A0(SCMP_CMP_EQ, 0)});
}

void allow_terminal_ioctl(SeccompPolicy& policy) {
  for (unsigned long request : {TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX}) {
    policy.allow_if(SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_EQ, request)});
  }
}

namespace {

// The kernel reads ioctl's request as 32 bits, so rules look at those
// only (masks below 2^32: high bits cannot smuggle a request past them).
// libseccomp takes one comparison per argument and rule, and overlapping
// rules of different actions have no defined order, so "every request but
// these" is spelled as disjoint prefixes: walking the bits from the top,
// each excluded value's path leaves behind the branches that lead to no
// excluded value, and each such branch is one masked-equality allow rule.
void allow_requests_except(SeccompPolicy& policy, std::vector<std::uint32_t> excluded, int bit,
                           std::uint32_t prefix) {
  const std::uint32_t above = bit == 31 ? 0 : ~((std::uint32_t{1} << (bit + 1)) - 1);
  const std::uint32_t mask = above | (std::uint32_t{1} << bit);
  for (std::uint32_t value : {prefix, prefix | (std::uint32_t{1} << bit)}) {
    std::vector<std::uint32_t> below;
    for (std::uint32_t e : excluded) {
      if ((e & mask) == value) below.push_back(e);
    }
    if (below.empty()) {
      policy.allow_if(SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_MASKED_EQ, mask, value)});
    } else if (bit > 0) {
      allow_requests_except(policy, below, bit - 1, value);
    }  // bit 0 with an excluded value left: that value itself stays denied
  }
}

}  // namespace

void allow_any_ioctl(SeccompPolicy& policy) {
  allow_requests_except(policy, {TIOCSTI, TIOCLINUX}, 31, 0);
}

void allow_every_ioctl(SeccompPolicy& policy) { policy.set(SCMP_SYS(ioctl), kAllowed); }

void allow_unix_socket_creation(SeccompPolicy& policy) {
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)});
  policy.allow_if(SCMP_SYS(socketpair), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)});
}

void allow_internet_socket_creation(SeccompPolicy& policy) {
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_INET)});
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_INET6)});
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
                                     SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE)});
}

void allow_host_network_sockets(SeccompPolicy& policy) {
  constexpr scmp_datum_t kSocketTypeMask = 0xf;  // the type without SOCK_CLOEXEC/SOCK_NONBLOCK
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_INET)});
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_INET6)});
  policy.set_if(SCMP_SYS(socket), fail_with(EACCES), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)});
  policy.set_if(SCMP_SYS(socket), fail_with(EACCES), {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK)});
  policy.allow_if(SCMP_SYS(socketpair), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                                         SCMP_A1(SCMP_CMP_MASKED_EQ, kSocketTypeMask, SOCK_STREAM)});
  policy.set(SCMP_SYS(connect), kAllowed);
  policy.set(SCMP_SYS(bind), fail_with(EACCES));
}

}  // namespace sandbox::syscalls
