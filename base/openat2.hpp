// openat2(2) with the retry its man page asks for: with RESOLVE_IN_ROOT or
// RESOLVE_BENEATH the kernel answers EAGAIN when a rename or mount anywhere
// on the machine raced a ".." step of the lookup (/etc/os-release ->
// ../usr/lib/os-release is one), so a busy machine turns a plain open into a
// spurious failure unless it is tried again.
#pragma once

#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace base {

inline long openat2_retrying(int dirfd, const char* path, const open_how& how) {
  constexpr int kAttempts = 64;  // each race is a few microseconds wide
  long fd = -1;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd;
}

}  // namespace base
