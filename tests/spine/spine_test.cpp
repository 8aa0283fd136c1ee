// The supervisor and its sandboxed stages as a user runs them: the built CLI
// in a subprocess, driving the fake stage-resolver (tests/spine/fake) or the
// real stages, as the unprivileged user the tests run as.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "tests/fixtures/debrepo/debrepo.hpp"
#include "tests/fixtures/httpd/httpd_fixture.hpp"
#include "tests/spine/spine_harness.hpp"

namespace spine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tests::debrepo::TempDir;

const std::regex kStarted(R"(started \((\w+), pid (\d+)\))");

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Each test gets its own HOME and XDG dirs, so no real cache is touched.
class Spine : public ::testing::Test {
 protected:
  std::vector<std::string> env(bool fake = true) const {
    std::vector<std::string> vars = {"HOME=" + home_.path().string(),
                                     "XDG_CACHE_HOME=" + (home_.path() / "cache").string(),
                                     "XDG_DATA_HOME=" + (home_.path() / "data").string()};
    if (fake) vars.push_back("OIC_STAGE_DIR=" + fake_stage_dir().string());
    return vars;
  }
  // A request for the fake resolver; `behaviour` goes in `architecture`.
  fs::path fake_request(const std::string& behaviour) const {
    const fs::path file = dir_.path() / (behaviour + ".json");
    write_file(file, R"({"resolver": {"indexes": [], "requested": [], "architecture": ")" + behaviour + R"("}})");
    return file;
  }
  std::vector<std::string> fake_stage_args(const std::string& behaviour) const {
    return {"stage", "resolver", "--request", fake_request(behaviour).string()};
  }

  TempDir home_;
  TempDir dir_;
};

TEST_F(Spine, StageThatAnswersPrintsItsResultAsJson) {
  const CliResult r = run_cli(fake_stage_args("ok"), env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto result = nlohmann::json::parse(r.out);
  EXPECT_TRUE(result.contains("resolver")) << r.out;
}

TEST_F(Spine, SeccompViolationNamesTheStageAndTheSystemCall) {
  const CliResult r = run_cli(fake_stage_args("sigsys"), env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("resolver"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ptrace"), std::string::npos) << r.err;
}

// A stage writing past its RLIMIT_FSIZE gets EFBIG (pid 1 of its namespace
// ignores SIGXFSZ): the error names the limit.
TEST_F(Spine, WritePastTheFileSizeLimitIsNamedWithTheLimit) {
  const CliResult r = run_cli(fake_stage_args("bigfile"), env());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("file size limit (RLIMIT_FSIZE 1073741824 bytes"), std::string::npos) << r.err;
}

TEST_F(Spine, StageThatHangsIsStoppedAtTheTimeoutWhichIsNamed) {
  auto args = fake_stage_args("hang");
  args.insert(args.end(), {"--timeout", "2"});
  const auto started = std::chrono::steady_clock::now();
  const CliResult r = run_cli(args, env(), {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_NE(r.err.find("resolver"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("within 2 s"), std::string::npos) << r.err;
}

TEST_F(Spine, GarbageOnTheSocketIsAProtocolViolationOfThatStage) {
  const CliResult r = run_cli(fake_stage_args("garbage"), env(), {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("resolver"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("protocol violation"), std::string::npos) << r.err;
}

TEST_F(Spine, StageKilledFromOutsideNamesTheStageAndTheSignal) {
  CliProcess cli(fake_stage_args("wait"), env());
  const auto started = cli.wait_for_stderr(kStarted, 20s);
  ASSERT_TRUE(started) << cli.err();
  const pid_t stage = static_cast<pid_t>(std::stol((*started)[2]));
  ASSERT_TRUE(cli.wait_for_stderr(std::regex("waiting"), 20s)) << cli.err();
  ASSERT_EQ(::kill(stage, SIGKILL), 0) << std::strerror(errno);
  const auto status = cli.wait(20s);
  ASSERT_TRUE(status) << cli.err();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << cli.err();
  EXPECT_NE(cli.err().find("resolver"), std::string::npos) << cli.err();
  EXPECT_NE(cli.err().find("SIGKILL"), std::string::npos) << cli.err();
}

// The stage's mounts live in its own mount namespace: the test's table
// never shows them, so the stage's table must differ from it (its /proc).
std::string stage_mount_namespace(pid_t stage) {
  const std::string ns = namespace_of(stage, "mnt");
  EXPECT_FALSE(ns.empty());
  EXPECT_NE(ns, namespace_of(::getpid(), "mnt"));
  const auto theirs = mount_points(stage);
  EXPECT_FALSE(theirs.empty()) << "cannot read the stage's mount table";
  EXPECT_NE(theirs, mount_points()) << "the stage sees the test's mounts";
  return ns;
}

// What must be gone once the supervisor has exited after an interruption:
// the stage, its pid namespace, and its mount namespace with every mount in
// it (nothing holds it: no process, fd or bind mount); and no mount of the
// stage reached the supervisor's namespace (the test's, where as root a
// shared mount would propagate).
void expect_nothing_left(pid_t cli, pid_t stage, const std::string& stage_pid_ns, const std::string& stage_mnt_ns,
                         const std::vector<std::string>& mounts_before) {
  EXPECT_FALSE(process_alive(stage)) << "stage pid " << stage;
  EXPECT_TRUE(processes_in_pid_namespace(stage_pid_ns).empty()) << stage_pid_ns;
  EXPECT_TRUE(descendants_of(cli).empty());
  EXPECT_EQ(namespace_holders("mnt", stage_mnt_ns), std::vector<std::string>{}) << stage_mnt_ns;
  EXPECT_EQ(mount_points(), mounts_before);
}

TEST_F(Spine, SigintStopsTheStageAndLeavesNothingBehind) {
  const auto mounts_before = mount_points();
  CliProcess cli(fake_stage_args("hang"), env());
  const auto started = cli.wait_for_stderr(kStarted, 20s);
  ASSERT_TRUE(started) << cli.err();
  const pid_t stage = static_cast<pid_t>(std::stol((*started)[2]));
  const std::string pid_ns = namespace_of(stage, "pid");
  ASSERT_FALSE(pid_ns.empty());
  ASSERT_NE(pid_ns, namespace_of(::getpid(), "pid"));
  const std::string mnt_ns = stage_mount_namespace(stage);
  const auto interrupted = std::chrono::steady_clock::now();
  cli.signal(SIGINT);
  const auto status = cli.wait(20s);
  ASSERT_TRUE(status) << "still running 20 s after SIGINT\n" << cli.err();
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted, 10s);
  EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << cli.err();
  EXPECT_NE(cli.err().find("SIGINT"), std::string::npos) << cli.err();
  expect_nothing_left(cli.pid(), stage, pid_ns, mnt_ns, mounts_before);
}

// The confinement a running stage must show from outside.
void expect_confined(pid_t stage, bool own_net) {
  const auto status = proc_status(stage);
  EXPECT_EQ(status.at("Seccomp"), "2");
  EXPECT_EQ(status.at("NoNewPrivs"), "1");
  const pid_t self = ::getpid();
  std::vector<std::string> spaces = {"user", "mnt", "pid"};
  if (own_net) spaces.push_back("net");
  for (const auto& ns : spaces) {
    const std::string theirs = namespace_of(stage, ns);
    EXPECT_FALSE(theirs.empty()) << ns;
    EXPECT_NE(theirs, namespace_of(self, ns)) << ns;
  }
  if (!own_net) {
    EXPECT_EQ(namespace_of(stage, "net"), namespace_of(self, "net"));
  }
}

TEST_F(Spine, RunningStageIsConfinedSeenFromOutside) {
  CliProcess cli(fake_stage_args("wait"), env());
  const auto started = cli.wait_for_stderr(kStarted, 20s);
  ASSERT_TRUE(started) << cli.err();
  const pid_t stage = static_cast<pid_t>(std::stol((*started)[2]));
  ASSERT_TRUE(cli.wait_for_stderr(std::regex("waiting"), 20s)) << cli.err();
  expect_confined(stage, true);
  cli.signal(SIGTERM);
  ASSERT_TRUE(cli.wait(20s));
}

TEST_F(Spine, StageSeesItselfUnderSeccompWithNoNewPrivileges) {
  const CliResult r = run_cli(fake_stage_args("status"), env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string status = nlohmann::json::parse(r.out)["resolver"]["dotGraph"];
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
}

TEST_F(Spine, RealFetcherIsConfinedButKeepsTheNetwork) {
  const TempDir root;
  write_file(root.path() / "slow.bin", "some bytes");
  fixtures::FaultHttpd httpd(root.path());
  httpd.set_rules(R"({"/slow.bin": {"stall_before": 60}})");
  const fs::path out = dir_.path() / "out";
  fs::create_directories(out);
  const fs::path request = dir_.path() / "fetch.json";
  write_file(request, R"({"fetcher": {"downloads": [{"url": ")" + httpd.url("slow.bin") +
                          R"(", "destName": "slow.bin"}], "outputDir": {"path": ")" + out.string() +
                          R"("}, "allowPlainHttp": true, "retries": 0}})");
  CliProcess cli({"stage", "fetcher", "--request", request.string()}, env(false));
  const auto started = cli.wait_for_stderr(kStarted, 20s);
  ASSERT_TRUE(started) << cli.err();
  const pid_t stage = static_cast<pid_t>(std::stol((*started)[2]));
  // The download is in progress (stalled): the stage is past its set-up.
  const auto downloading = [&] { return nlohmann::json::parse(httpd.stats())["peak_active"].get<int>() > 0; };
  for (int i = 0; i < 200 && !downloading(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(downloading()) << cli.err();
  expect_confined(stage, false);
  const auto stopping = std::chrono::steady_clock::now();
  cli.signal(SIGTERM);
  const auto status = cli.wait(20s);
  ASSERT_TRUE(status) << "the fetcher did not stop on SIGTERM\n" << cli.err();
  // Well inside the 2 s grace before SIGKILL: the fetcher heeded the cancel
  // message and dropped its stalled transfer itself.
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 1500ms);
  EXPECT_FALSE(process_alive(stage));
}

// A real stage held at its first read: its input is a FIFO the test keeps
// open without writing, so the stage waits there while it is inspected.
struct HeldStage {
  const char* stage;
  std::string request;  // @IN@ is the FIFO's path
};

class RealStageHeldOnInput : public Spine, public ::testing::WithParamInterface<HeldStage> {};

TEST_P(RealStageHeldOnInput, IsConfinedInItsOwnNamespacesWithoutNetwork) {
  const fs::path fifo = dir_.path() / "input";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  // Read-write, so neither this open nor the supervisor's blocks.
  base::UniqueFd writer(::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer) << std::strerror(errno);
  std::string request = GetParam().request;
  request.replace(request.find("@IN@"), 4, fifo.string());
  const fs::path file = dir_.path() / "request.json";
  write_file(file, request);
  CliProcess cli({"stage", GetParam().stage, "--request", file.string()}, env(false));
  const auto started = cli.wait_for_stderr(kStarted, 20s);
  ASSERT_TRUE(started) << cli.err();
  const pid_t stage = static_cast<pid_t>(std::stol((*started)[2]));
  std::this_thread::sleep_for(300ms);  // into its read of the FIFO
  ASSERT_TRUE(process_alive(stage)) << "the stage did not wait on its input\n" << cli.err();
  expect_confined(stage, true);
  writer.reset();  // end of input: the stage goes on and ends
  const auto status = cli.wait(20s);
  ASSERT_TRUE(status) << cli.err();
  EXPECT_FALSE(process_alive(stage));
}

INSTANTIATE_TEST_SUITE_P(
    Stages, RealStageHeldOnInput,
    ::testing::Values(
        HeldStage{"resolver", R"({"resolver": {"indexes": [{"repoName": "r", "packages": {"path": "@IN@"},
                                 "baseUrl": "http://127.0.0.1:1/d", "priority": 500}],
                                 "requested": [{"name": "foo"}], "architecture": "amd64",
                                 "family": {"deb": {"essential": "none"}}}})"},
        HeldStage{"verifier", R"({"verifier": {"repositories": [], "packages": [{"name": "foo", "repo": "r",
                                 "file": {"path": "@IN@"}, "expectedSha256": ")" + std::string(64, 'a') +
                                 R"(", "expectedSize": "10"}]}})"}),
    [](const auto& info) { return std::string(info.param.stage); });

// More files than one frame carries fds for (FrameLimits::max_fds, 32): the
// files travel as paths bound into the sandbox, so the verifier reads every
// one and fails only on the last one's content, not on the fd count.
TEST_F(Spine, RequestWithMoreFilesThanAFrameCarriesReachesTheStage) {
  constexpr int kFiles = 40;
  const std::string good = "package bytes\n";
  const std::string good_sha256 = "40fa264148fd4b9e9bea4447cc4504f68832044997ab4921af95356d05556031";  // sha256sum of `good`
  const fs::path packages = dir_.path() / "packages";
  fs::create_directories(packages);
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = "pkg" + std::to_string(100 + i);
    const fs::path path = packages / (name + ".deb");
    write_file(path, i + 1 < kFiles ? good : "corrupted bytes\n");
    list.push_back({{"name", name}, {"repo", "r"}, {"file", {{"path", path.string()}}},
                    {"expectedSha256", good_sha256}, {"expectedSize", std::to_string(good.size())}});
  }
  const fs::path file = dir_.path() / "request.json";
  write_file(file, nlohmann::json{{"verifier", {{"repositories", nlohmann::json::array()}, {"packages", list}}}}.dump());
  const CliResult r = run_cli({"stage", "verifier", "--request", file.string()}, env(false), {}, 60s);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("too many fds"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Failed to verify package 'pkg139' from repository 'r': expected SHA256 " + good_sha256),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("pkg138"), std::string::npos) << r.err;
}

TEST_F(Spine, NoSandboxRunsTheStageAsAPlainChild) {
  auto args = fake_stage_args("status");
  args.push_back("--no-sandbox");
  const CliResult r = run_cli(args, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string status = nlohmann::json::parse(r.out)["resolver"]["dotGraph"];
  EXPECT_NE(status.find("NoNewPrivs:\t0"), std::string::npos) << status;
}

TEST_F(Spine, ShellRunsCommandsInsideTheSandbox) {
  const CliResult r = run_cli({"stage", "resolver", "--shell"}, env(),
                              "echo uid=$(id -u); cat /proc/self/status | grep Seccomp; exit 3\n", 30s);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  // The whole line: uid 0 inside the stage's user namespace.
  EXPECT_NE(r.out.find("uid=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace spine
