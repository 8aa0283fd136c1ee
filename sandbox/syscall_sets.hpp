// Named groups of syscalls, named for what they permit (Chromium's
// SyscallSets). Argument restrictions are separate functions that add
// libseccomp comparators to a policy.
#pragma once

#include <sched.h>

#include "sandbox/seccomp.hpp"

namespace sandbox::syscalls {

SyscallSet process_exit();      // exit, exit_group, restart_syscall
SyscallSet memory();            // brk, mmap, mprotect, ... (no mlock)
SyscallSet memory_locking();    // mlock family (gpg's secure memory)
SyscallSet fd_io();             // read/write/close/dup/fcntl/poll/epoll on open fds
SyscallSet socket_io();         // send/recv on sockets already open (the stage socket)
SyscallSet filesystem_read();   // open, stat, readlink, getdents, getxattr, chdir
SyscallSet filesystem_write();  // mkdir, unlink, rename, chmod, truncate, utimes, fsync
SyscallSet ownership();         // chown family and setxattr (file caps in images)
SyscallSet device_nodes();      // mknod (refused by the kernel in a userns; dpkg tries)
SyscallSet time();              // clocks, sleeps, timers
SyscallSet signals();           // handlers, masks, kill within the pid namespace
SyscallSet threads();           // futex, robust lists, rseq, scheduling queries
SyscallSet process_info();      // getpid/getuid family, uname, getrlimit, capget
SyscallSet randomness();        // getrandom
SyscallSet process_spawn();     // fork, vfork, execve, wait (clone: see below)
SyscallSet local_sockets();     // connect/bind/listen/accept (families: see below)
SyscallSet set_ids();           // setuid family, setgroups (inside the userns)
SyscallSet change_root();       // chroot
SyscallSet capability_changes();// capset (the kernel only allows dropping)
SyscallSet fs_admin();          // always forbidden: mount API, pivot_root, swap, quota
SyscallSet kernel_admin();      // always forbidden: modules, kexec, reboot, bpf, perf, ...
SyscallSet cross_process();     // always forbidden: ptrace, process_vm_*, kcmp, setns
SyscallSet kernel_keyring();    // always forbidden: keyctl, add_key, request_key

// Namespace-creating clone/unshare flags. CLONE_NEWTIME (0x80) overlaps the
// exit-signal byte of clone(), so it is checked for unshare only.
inline constexpr unsigned long kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                                 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                                 CLONE_NEWNET;
inline constexpr unsigned long kNewTimeNamespace = 0x80;

// clone only for threads (CLONE_THREAD set, no namespace flags).
void allow_clone_threads(SeccompPolicy& policy);
// clone for threads and child processes, never with namespace flags.
void allow_clone_processes(SeccompPolicy& policy);
// unshare without namespace flags (CLONE_FILES, CLONE_FS).
void allow_unshare_without_namespaces(SeccompPolicy& policy);
// prctl options that read state or only reduce privileges.
void allow_safe_prctl(SeccompPolicy& policy);
// prlimit64 on the calling process only.
void allow_own_prlimit(SeccompPolicy& policy);
// ioctl for terminal queries and fd flags only.
void allow_terminal_ioctl(SeccompPolicy& policy);
// ioctl with any request but those that act on a terminal from outside:
// TIOCSTI (types into the terminal's input queue) and TIOCLINUX (console
// selection and keyboard). mkfs and dpkg query files and devices; programs
// a stage runs may ask any other question of the fds they hold.
void allow_any_ioctl(SeccompPolicy& policy);
// ioctl with every request, TIOCSTI included: `stage --shell` only, whose
// terminal is the user's own.
void allow_every_ioctl(SeccompPolicy& policy);
// socket() and socketpair() for AF_UNIX.
void allow_unix_socket_creation(SeccompPolicy& policy);
// socket() for AF_INET/AF_INET6 and AF_NETLINK/NETLINK_ROUTE (getaddrinfo).
void allow_internet_socket_creation(SeccompPolicy& policy);
// For a stage in the host's network namespace, whose abstract unix sockets
// are the host's: socket() for AF_INET/AF_INET6; socket(AF_UNIX) and
// socket(AF_NETLINK) fail with EACCES (glibc's nscd client and its interface
// check then fall back); socketpair(AF_UNIX, SOCK_STREAM) only, which cannot
// reach a name; connect(); bind() fails with EACCES (a socketpair end could
// still take an abstract name); listen/accept are not allowed.
void allow_host_network_sockets(SeccompPolicy& policy);

}  // namespace sandbox::syscalls
