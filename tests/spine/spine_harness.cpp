#include "tests/spine/spine_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.hpp"

extern char** environ;

namespace spine {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  base::check(value != nullptr && *value != '\0', std::string("the spine tests need $") + name +
                                                     " (meson test sets it)");
  return value;
}

// Returns the fd's end of a fresh pipe pair: [read, write], both close-on-exec.
std::pair<base::UniqueFd, base::UniqueFd> make_pipe() {
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC), "create", "pipe");
  return {base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

}  // namespace

fs::path cli_path() { return env_or_fail("OIC_CLI"); }
fs::path fake_stage_dir() { return env_or_fail("OIC_FAKE_STAGE_DIR"); }

CliProcess::CliProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       const std::string& input) {
  auto [in_read, in_write] = make_pipe();
  auto [out_read, out_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  std::vector<std::string> argv_strings = {cli_path().string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
  // The child gets default signal handling whatever the test runner set.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  base::check(rc == 0, "Failed to start '" + argv_strings[0] + "': " + std::strerror(rc));
  in_read.reset();
  out_write.reset();
  err_write.reset();
  // Small inputs fit the pipe buffer; the stdin pipe closes right after.
  if (!input.empty()) {
    base::check(::write(in_write.get(), input.data(), input.size()) == static_cast<ssize_t>(input.size()),
               "Failed to write the CLI's stdin");
  }
  in_write.reset();
  stdout_ = std::move(out_read);
  stderr_ = std::move(err_read);
}

CliProcess::~CliProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void CliProcess::pump(int timeout_ms) {
  pollfd fds[2] = {{stdout_.get(), POLLIN, 0}, {stderr_.get(), POLLIN, 0}};
  const nfds_t count = 2;
  if (::poll(fds, count, timeout_ms) <= 0) return;
  char buffer[4096];
  for (auto& p : fds) {
    if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP))) continue;
    const ssize_t n = ::read(p.fd, buffer, sizeof buffer);
    if (n <= 0) {
      (p.fd == stdout_.get() ? stdout_ : stderr_).reset();
      continue;
    }
    (p.fd == stdout_.get() ? out_ : err_).append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::vector<std::string>> CliProcess::wait_for(const std::string& text, const std::regex& pattern,
                                                std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    std::smatch match;
    // Copies, since later output may move the text the match points into.
    if (std::regex_search(text, match, pattern)) return std::vector<std::string>(match.begin(), match.end());
    if (Clock::now() >= deadline || (!stdout_ && !stderr_)) return std::nullopt;
    pump(50);
  }
}

std::optional<int> CliProcess::wait(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  int status = 0;
  for (;;) {
    pump(20);
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      reaped_ = true;
      return std::nullopt;
    }
  }
  reaped_ = true;
  while (stdout_ || stderr_) pump(1000);
  return status;
}

void CliProcess::signal(int sig) const { ::kill(pid_, sig); }

CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  const std::string& input, std::chrono::milliseconds limit) {
  CliProcess process(args, env, input);
  const auto status = process.wait(limit);
  CliResult result{.exit_code = -1, .out = process.out(), .err = process.err()};
  if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  return result;
}

std::map<std::string, std::string> proc_status(pid_t pid) {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of(" \t", colon + 1);
    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::string namespace_of(pid_t pid, const std::string& name) {
  std::error_code ec;
  const auto target = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + name, ec);
  return ec ? std::string() : target.string();
}

namespace {

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return pids;
}

pid_t parent_of(pid_t pid) {
  const auto status = proc_status(pid);
  const auto it = status.find("PPid");
  return it == status.end() ? 0 : static_cast<pid_t>(std::stol(it->second));
}

}  // namespace

std::vector<pid_t> descendants_of(pid_t ancestor) {
  std::vector<pid_t> found;
  for (pid_t pid : all_pids()) {
    for (pid_t p = parent_of(pid), hops = 0; p > 1 && hops < 64; p = parent_of(p), ++hops) {
      if (p == ancestor) {
        found.push_back(pid);
        break;
      }
    }
  }
  return found;
}

std::vector<pid_t> processes_in_pid_namespace(const std::string& ns) {
  std::vector<pid_t> found;
  for (pid_t pid : all_pids()) {
    if (namespace_of(pid, "pid") == ns) found.push_back(pid);
  }
  return found;
}

std::vector<std::string> mount_points(pid_t pid) {
  std::vector<std::string> points;
  std::ifstream in(pid == 0 ? std::string("/proc/self/mountinfo") : "/proc/" + std::to_string(pid) + "/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    points.push_back(point);
  }
  return points;
}

std::vector<std::string> namespace_holders(const std::string& kind, const std::string& ns) {
  std::vector<std::string> holders;
  for (pid_t pid : all_pids()) {
    if (namespace_of(pid, kind) == ns) holders.push_back("process " + std::to_string(pid));
    std::error_code ec;
    const fs::path fds = "/proc/" + std::to_string(pid) + "/fd";
    for (fs::directory_iterator it(fds, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(it->path(), link_ec).string() == ns) holders.push_back("fd " + it->path().string());
    }
  }
  // An nsfs bind mount shows the namespace as its root ("mnt:[N]").
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.find(" " + ns + " ") != std::string::npos) holders.push_back("mount " + line);
  }
  return holders;
}

bool process_alive(pid_t pid) {
  // A zombie is gone for our purpose: it runs nothing and holds no mounts.
  const auto status = proc_status(pid);
  const auto it = status.find("State");
  return it != status.end() && !it->second.starts_with("Z");
}

}  // namespace spine
