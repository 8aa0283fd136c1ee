// Running a program as a test's user would: argv[0] an absolute path, the
// environment exactly `env`, stdin from `input`, stdout and stderr through
// files in `scratch` so that a large output cannot block on a full pipe, and
// optionally another working directory.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tests::support {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Throws std::runtime_error when the program cannot be started.
inline RunResult run_program(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                             const std::filesystem::path& scratch,
                             const std::filesystem::path& input = "/dev/null",
                             const std::filesystem::path& cwd = {}) {
  if (argv.empty()) throw std::runtime_error("run_program needs a program");
  std::vector<std::string> argv_store = argv;
  std::vector<char*> args;
  for (std::string& a : argv_store) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (const auto& [key, value] : env) env_store.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::filesystem::create_directories(scratch);
  const std::string out_path = (scratch / "stdout.txt").string();
  const std::string err_path = (scratch / "stderr.txt").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, input.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("Failed to start '" + argv[0] + "': " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("Failed to wait for '" + argv[0] + "': " + std::strerror(errno));
  }
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_whole_file(out_path);
  result.err = read_whole_file(err_path);
  return result;
}

}  // namespace tests::support
