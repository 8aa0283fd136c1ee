// oic-escape-probe REPORT: what a hostile maintainer script or template
// configuration command runs inside the image tree (statically linked: the
// tree has no C++ runtime). It opens REPORT in the tree first, then tries
// to leave: through the installer's fds (/proc/1/fd/N/..), out of the
// chroot (CAP_SYS_CHROOT: chroot into a subdirectory, climb, chroot "."),
// looking above every mount point for the host's sentinel, and by writing
// into every mount it can see. One line per probe:
//   NAME: blocked (how) | NAME: ESCAPED (what)
// plus one "wrote: PATH FSTYPE" line per mount it could write into (the
// test decides which of those are allowed). Exits 0: the build goes on and
// the report lands in the image, where the test reads it.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/adversarial/hostile_names.hpp"

namespace {

using tests::adversarial::kEscapeMark;
using tests::adversarial::kSentinel;

FILE* report = stderr;

void line(const std::string& text) {
  std::fprintf(report, "%s\n", text.c_str());
  std::fflush(report);
}

// Climbs from directory fd `dir` (taken); true when a level holds the sentinel.
bool sentinel_above(int dir) {
  for (int level = 0; dir >= 0 && level < 64; ++level) {
    if (::faccessat(dir, kSentinel, F_OK, 0) == 0) {
      const int mark = ::openat(dir, kEscapeMark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (mark >= 0) ::close(mark);
      ::close(dir);
      return true;
    }
    const int up = ::openat(dir, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(dir);
    dir = up;
  }
  if (dir >= 0) ::close(dir);
  return false;
}

void probe_pid1_fds() {
  DIR* d = ::opendir("/proc/1/fd");
  if (d == nullptr) return line(std::string("proc-1-fd: blocked (list /proc/1/fd: ") + std::strerror(errno) + ")");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  }
  ::closedir(d);
  int opened = 0;
  for (const std::string& name : names) {
    const std::string path = "/proc/1/fd/" + name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) ++opened, ::close(fd);
    const int up = ::open((path + "/..").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (up >= 0 && sentinel_above(up)) return line("proc-1-fd: ESCAPED (the host sentinel above " + path + ")");
  }
  if (opened > 0) return line("proc-1-fd: ESCAPED (opened " + std::to_string(opened) + " of pid 1's fds)");
  line("proc-1-fd: blocked (" + std::to_string(names.size()) + " fds of pid 1, none could be opened)");
}

// Leaves the chroot the way CAP_SYS_CHROOT allows; false when refused.
bool leave_chroot(std::string& how) {
  ::mkdir("/tmp", 01777);
  const char* inner = "/tmp/oic-escape-probe";
  if (::mkdir(inner, 0700) < 0 && errno != EEXIST) return how = std::string("mkdir: ") + std::strerror(errno), false;
  const int outside = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (::chroot(inner) < 0) return how = std::string("chroot: ") + std::strerror(errno), false;
  if (::fchdir(outside) < 0) return how = std::string("fchdir: ") + std::strerror(errno), false;
  ::close(outside);
  for (int i = 0; i < 64; ++i) (void)!::chdir("..");
  if (::chroot(".") < 0) return how = std::string("chroot(.): ") + std::strerror(errno), false;
  return true;
}

struct Mount {
  std::string point, fstype;
};

std::string unescape(const std::string& s) {  // mountinfo writes " " as \040
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<Mount> mounts() {
  std::vector<Mount> found;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string text; std::getline(in, text);) {
    std::istringstream fields(text);
    std::string id, parent, dev, root, point, field;
    fields >> id >> parent >> dev >> root >> point;
    while (fields >> field && field != "-") {
    }
    std::string fstype;
    fields >> fstype;
    found.push_back({unescape(point), fstype});
  }
  return found;
}

void probe_mounts() {
  const std::vector<Mount> all = mounts();
  for (const Mount& m : all) {
    const int dir = ::open(m.point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0 && sentinel_above(dir)) return line("chroot-escape: ESCAPED (the host sentinel above " + m.point + ")");
  }
  line("chroot-escape: blocked (left the chroot into the stage's own root; no host sentinel above any of " +
       std::to_string(all.size()) + " mount points)");
  for (const Mount& m : all) {
    const std::string mark = (m.point == "/" ? std::string() : m.point) + "/" + kEscapeMark;
    const int fd = ::open(mark.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) continue;
    ::close(fd);
    line("wrote: " + m.point + " " + m.fstype);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    if (FILE* f = std::fopen(argv[1], "w")) report = f;
  }
  probe_pid1_fds();
  std::string how;
  if (!leave_chroot(how)) {
    line("chroot-escape: blocked (" + how + ")");
  } else {
    probe_mounts();
  }
  line("done");
  return 0;
}
