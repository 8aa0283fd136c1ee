#include "stages/installer/build_env.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCp = "/usr/bin/cp";

// Runs `argv` (argv[0] absolute) and returns its exit status and output.
std::pair<int, std::string> run_host(const std::vector<std::string>& args) {
  int pipefd[2];
  base::check_syscall(::pipe2(pipefd, O_CLOEXEC), "create a pipe");
  base::UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
  std::vector<std::string> strings = args;
  std::vector<char*> argv;
  for (std::string& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  char env_path[] = "PATH=/usr/bin";
  char env_lang[] = "LC_ALL=C";
  char* envp[] = {env_path, env_lang, nullptr};
  const pid_t pid = base::check_syscall(::fork(), "fork", args[0]);
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(write_end.get(), 1);
    ::dup2(write_end.get(), 2);
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  write_end.reset();
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (output.size() < 16384) output.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

dev_t device_of(const fs::path& path) {
  struct stat st {};
  base::check_syscall(::lstat(path.c_str(), &st), "stat", path.string());
  return st.st_dev;
}

// Whether `entry` (directly inside `top`) is mounted over.
bool is_mount_point(const fs::path& top, const fs::path& entry) {
  struct stat st {};
  if (::lstat(entry.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return false;
  return st.st_dev != device_of(top);
}

}  // namespace

void copy_tree(const fs::path& from, const fs::path& to) {
  std::vector<std::string> argv = {kCp, "-a", "--reflink=auto", "-t", to.string()};
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(from)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  bool any = false;
  for (const std::string& name : names) {
    if (is_mount_point(from, from / name) || is_mount_point(to, to / name)) {
      std::error_code ec;
      fs::create_directory(to / name, ec);  // stands in for the mount point
      continue;
    }
    argv.push_back((from / name).string());
    any = true;
  }
  if (!any) return;
  const auto [status, output] = run_host(argv);
  if (status != 0) {
    base::fail(base::ErrorKind::kFailed, "Failed to copy the tree '" + from.string() + "' to '" + to.string() +
                                           "': cp exited with status " + std::to_string(status) + "\n" + output);
  }
}

void copy_directory_into(const fs::path& from, const fs::path& into) {
  const auto [status, output] = run_host({kCp, "-a", "--reflink=auto", "-t", into.string(), from.string()});
  if (status != 0) {
    base::fail(base::ErrorKind::kFailed, "Failed to copy '" + from.string() + "' into '" + into.string() +
                                           "': cp exited with status " + std::to_string(status) + "\n" + output);
  }
}

bool is_empty_tree(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name == "proc" || name == "dev" || name == "lost+found") continue;
    return false;
  }
  return true;
}

}  // namespace stage::installer
