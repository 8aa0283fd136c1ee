#include "tests/image/secure_boot_fixture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <regex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/image/disk_inspect.hpp"
#include "tests/live/live_support.hpp"

namespace tests::image {

namespace fs = std::filesystem;

std::string missing_secure_boot_tools() {
  std::string missing;
  for (const char* tool : {"veritysetup", "sbverify", "sbattach", "openssl", "mcopy"}) {
    if (host_tool(tool).empty()) missing += std::string(tool) + " is not installed (.ci/packages)\n";
  }
  for (const char* file : {kSecureBootCode, kSnakeoilVars, kSnakeoilKey, kSnakeoilCert}) {
    if (!fs::exists(file)) missing += std::string(file) + " is missing (package ovmf)\n";
  }
  return missing;
}

fs::path write_signed_template(const fs::path& dir, const std::string& source, const std::string& name) {
  fs::create_directories(dir / "keys");
  fs::copy(source_dir() / "tests/image/templates/files", dir / "files",
           fs::copy_options::recursive | fs::copy_options::skip_existing);
  const fs::path scratch = dir / "scratch";
  fs::create_directories(scratch);
  const auto openssl = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), "openssl");
    const RunResult r = run_tool(argv, scratch);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
  };
  openssl({"pkey", "-in", kSnakeoilKey, "-passin", "pass:snakeoil", "-out", (dir / "keys/db.key").string()});
  fs::copy_file(kSnakeoilCert, dir / "keys/db.crt", fs::copy_options::overwrite_existing);
  openssl({"x509", "-in", kSnakeoilCert, "-outform", "DER", "-out", (dir / "keys/db.cer").string()});
  std::string text = read_text(source_dir() / "tests/image/templates" / source);
  const std::string section = "  immutability:\n    enabled: ";
  const std::string keys = "true\n    secureBootDBKey: keys/db.key\n    secureBootDBCrt: keys/db.crt\n"
                           "    secureBootDBCer: keys/db.cer\n";
  const std::size_t at = text.find(section);
  if (at != std::string::npos) {
    const std::size_t end = text.find('\n', at + section.size());
    text.replace(at, end + 1 - at, section + keys);
  } else {
    // Appended to systemConfig, which must then be the file's last section.
    const std::size_t last = text.rfind("\nsystemConfig:\n");
    if (last == std::string::npos || text.find("\n", last + 1) == std::string::npos ||
        std::regex_search(text.substr(last + 15), std::regex("\n[A-Za-z]"))) {
      throw std::runtime_error(source + " has no immutability section and systemConfig is not its last section");
    }
    if (!text.ends_with("\n")) text += "\n";
    text += section + keys;
  }
  std::ofstream(dir / name) << text;
  return dir / name;
}

std::string secure_boot_until(const ImageWorkspace& workspace, const fs::path& image, const std::string& what,
                              const std::function<bool(const std::string&)>& stop, int seconds) {
  std::string file_name = what;
  for (char& c : file_name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  const fs::path console = workspace.root() / (file_name + ".console");
  fs::remove(console);
  const std::vector<std::string> argv = {
      cli_path().string(), "--config", (workspace.root() / "config.yml").string(), "boot", image.string(),
      "--check", "--timeout", std::to_string(seconds), "--firmware-code", kSecureBootCode, "--firmware-vars",
      kSnakeoilVars, "--serial-log", console.string()};
  const std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + (workspace.root() / "home").string(),
                                        "XDG_CONFIG_HOME=" + (workspace.root() / "home/.config").string(),
                                        "TMPDIR=" + (workspace.root() / "tmp").string(), "LC_ALL=C"};
  std::vector<char*> c_argv, c_env;
  for (const std::string& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  for (const std::string& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_argv.push_back(nullptr);
  c_env.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    ::_exit(127);
  }
  EXPECT_GT(pid, 0);
  std::string text;
  int status = 0;
  bool exited = false;
  for (;;) {
    text = fs::exists(console) ? read_text(console) : "";
    if (::waitpid(pid, &status, WNOHANG) == pid) exited = true;
    if (stop(text) || exited) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!exited) {
    ::kill(pid, SIGTERM);  // the CLI stops its VM
    ::waitpid(pid, &status, 0);
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ image    ] Secure Boot of the " << what << ": " << (exited ? "exited" : "stopped") << " after "
            << took << " s\n";
  return text;
}

// A stop condition: one of `texts` is on the console.
std::function<bool(const std::string&)> shows_any_of(std::vector<std::string> texts) {
  return [texts = std::move(texts)](const std::string& console) {
    return std::any_of(texts.begin(), texts.end(), [&](const std::string& t) { return console.find(t) != std::string::npos; });
  };
}

}  // namespace tests::image
