// The hostile stage (hostile_stage.cpp) swapped in for a real stage and run
// by the real supervisor: in a build on the hermetic repository (fetcher,
// installer) and through `stage NAME --request` (installer with a read-only
// build environment, diskmaker). Every probe it makes must report
// "blocked", and the host must show no trace of it: the sentinel file above
// every directory the supervisor hands out has no mark beside it.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <regex>
#include <set>

#include "tests/adversarial/hostile_names.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::adversarial {
namespace {

namespace fs = std::filesystem;
using tests::repo::CliResult;
using tests::repo::RepoWorld;

// The probes every hostile stage makes, and (last, in this order) those a
// stage's seccomp policy may answer by ending it: TIOCSTI (ioctl) and an
// abstract unix socket (socket).
const std::set<std::string> kCommonProbes = {"fd-climb", "dir-climb", "read-only-dir", "core-pattern",
                                             "sysrq",    "session"};
const std::vector<std::pair<std::string, std::string>> kProbesSeccompMayEnd = {{"tty", "ioctl"},
                                                                               {"abstract-socket", "socket"}};

// Listens on an abstract unix socket in this (the host's) network namespace.
class AbstractListener {
 public:
  AbstractListener() {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path + 1, kAbstractListener, std::strlen(kAbstractListener));
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(kAbstractListener));
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0 && ::listen(fd_, 4) == 0;
  }
  ~AbstractListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

struct ProbeReport {
  std::map<std::string, std::string> blocked;
  std::map<std::string, std::string> escaped;
};

ProbeReport probes_in(const std::string& output) {
  static const std::regex kLine(R"(probe ([\w-]+): (blocked|ESCAPED) \((.*)\))");
  ProbeReport report;
  for (std::sregex_iterator it(output.begin(), output.end(), kLine), end; it != end; ++it) {
    ((*it)[2] == "blocked" ? report.blocked : report.escaped)[(*it)[1]] = (*it)[3];
  }
  return report;
}

std::vector<fs::path> files_named(const fs::path& dir, const std::string& name) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == name) found.push_back(it->path());
  }
  return found;
}

class HostileStage : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* hostile = std::getenv("OIC_HOSTILE_STAGE");
    ASSERT_TRUE(hostile != nullptr && *hostile != '\0') << "OIC_HOSTILE_STAGE is not set (meson sets it)";
    hostile_ = hostile;
    tests::repo::write_file(world_.root() / kSentinel, "the host\n");
    ASSERT_TRUE(listener_.bound()) << "cannot listen on @" << kAbstractListener;
  }

  // A folder holding only the hostile binary as stage-NAME: the supervisor
  // looks there first ($OIC_STAGE_DIR) and takes every other stage from
  // the build tree.
  std::string stage_dir_for(const std::string& stage) {
    const fs::path dir = world_.root() / ("hostile-" + stage);
    fs::create_directories(dir);
    fs::copy_file(hostile_, dir / ("stage-" + stage), fs::copy_options::overwrite_existing);
    return dir.string();
  }

  CliResult cli(const std::string& stage, std::vector<std::string> args) {
    const char* cli = std::getenv("OIC_CLI");
    args.insert(args.begin(), {cli, "--config", world_.config_path().string()});
    ::setenv("OIC_STAGE_DIR", stage_dir_for(stage).c_str(), 1);
    CliResult result = tests::repo::run_process(args, world_.root() / ("cli-" + std::to_string(++runs_)));
    ::unsetenv("OIC_STAGE_DIR");
    return result;
  }

  // Every probe ran and was blocked; nothing marked the host.
  void expect_contained(const CliResult& r, std::set<std::string> expected) {
    const std::string output = r.out + r.err;
    const ProbeReport report = probes_in(output);
    for (const auto& [probe, what] : report.escaped) ADD_FAILURE() << "probe " << probe << " ESCAPED: " << what;
    bool killed = false;
    for (const auto& [probe, syscall] : kProbesSeccompMayEnd) {
      killed = output.find("seccomp: stage attempted forbidden syscall " + syscall + " ") != std::string::npos;
      if (killed) break;
      expected.insert(probe);
    }
    for (const std::string& probe : expected) {
      EXPECT_TRUE(report.blocked.count(probe)) << "probe " << probe << " did not report\n" << output;
    }
    EXPECT_NE(r.exit_code, 0) << output;
    EXPECT_TRUE(killed || output.find("hostile stage done") != std::string::npos) << output;
    EXPECT_EQ(files_named(world_.root(), kEscapeMark), std::vector<fs::path>{});
    EXPECT_EQ(tests::repo::slurp(world_.root() / kSentinel), "the host\n");
  }

  fs::path write_request(const std::string& name, const std::string& json) {
    const fs::path file = world_.root() / name;
    tests::repo::write_file(file, json);
    return file;
  }

  RepoWorld world_;
  AbstractListener listener_;
  fs::path hostile_;
  int runs_ = 0;
};

TEST_F(HostileStage, FetcherInABuildFindsNoWayOut) {
  const CliResult r = cli("fetcher", {"build", world_.template_path().string()});
  expect_contained(r, kCommonProbes);
}

TEST_F(HostileStage, InstallerInABuildFindsNoWayOutAndItsChildrenCannotEnterIt) {
  const CliResult r = cli("installer", {"build", world_.template_path().string()});
  std::set<std::string> expected = kCommonProbes;
  expected.insert("proc-1");
  expect_contained(r, expected);
  // The installer got its tree, output and build environment as paths.
  EXPECT_NE((r.out + r.err).find("0 directories besides"), std::string::npos) << r.out << r.err;
}

TEST_F(HostileStage, InstallerRunByHandCannotWriteItsReadOnlyBuildEnvironment) {
  const fs::path tree = world_.root() / "req/tree", out = world_.root() / "req/out", env = world_.root() / "req/env";
  for (const auto& dir : {tree, out, env}) fs::create_directories(dir);
  tests::repo::write_file(env / "saved", "saved tree\n");
  const fs::path request = write_request("installer.json", R"({"installer": {
      "rootDir": {"path": ")" + tree.string() + R"(", "writable": true},
      "outputDir": {"path": ")" + out.string() + R"(", "writable": true},
      "buildEnv": {"mode": "reuse", "dir": {"path": ")" + env.string() + R"("}}}})");
  const CliResult r = cli("installer", {"stage", "installer", "--request", request.string()});
  std::set<std::string> expected = kCommonProbes;
  expected.insert("proc-1");
  expect_contained(r, expected);
  EXPECT_NE((r.out + r.err).find("1 read-only directories refused"), std::string::npos) << r.out << r.err;
}

TEST_F(HostileStage, DiskmakerRunByHandFindsNoWayOutAndItsChildrenCannotEnterIt) {
  const fs::path tree = world_.root() / "req/tree", out = world_.root() / "req/out";
  for (const auto& dir : {tree, out}) fs::create_directories(dir);
  const fs::path request = write_request("diskmaker.json", R"({"diskmaker": {
      "rootDir": {"path": ")" + tree.string() + R"(", "writable": true},
      "outputDir": {"path": ")" + out.string() + R"(", "writable": true},
      "outputName": "hostile"}})");
  const CliResult r = cli("diskmaker", {"stage", "diskmaker", "--request", request.string()});
  std::set<std::string> expected = kCommonProbes;
  expected.insert("proc-1");
  expect_contained(r, expected);
}

}  // namespace
}  // namespace tests::adversarial
