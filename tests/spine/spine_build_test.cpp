// A real build against the hermetic repository (tests/repo's world: signed
// repository on 127.0.0.1, private config and cache): its saved stage
// requests rerun alone, and SIGINT in the middle leaves nothing behind.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/repo/repo_harness.hpp"
#include "tests/spine/spine_harness.hpp"

namespace spine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tests::repo::RepoWorld;

// The stage a job name belongs to: fetch-metadata → fetcher, verify-packages-1
// and check-archives → verifier, resolve → resolver.
std::string stage_of_job(const std::string& job) {
  if (job.starts_with("fetch")) return "fetcher";
  if (job.starts_with("verify") || job.starts_with("check-archives")) return "verifier";
  if (job.starts_with("resolve")) return "resolver";
  return "unknown stage for job " + job;
}

TEST(SpineBuild, KeptRequestsAreOnePerStageJobAndEachRerunsAlone) {
  RepoWorld world;
  const fs::path kept = world.root() / "requests";
  const auto build = world.cli({"build", world.template_path().string(), "--keep-requests", kept.string()});
  // The build goes as far as the harness's tree allows: its CLI copy has no
  // installer (the hermetic repository's packages are not a bootable system),
  // so the install job is prepared — its request kept — and then not started.
  EXPECT_NE(build.err.find(tests::repo::kInstallerMissing), std::string::npos) << build.out << build.err;
  const std::regex started(R"(\[([\w-]+)\] started \(\w+, pid \d+\))");
  std::set<std::string> jobs;
  for (std::sregex_iterator it(build.out.begin(), build.out.end(), started), end; it != end; ++it) {
    jobs.insert((*it)[1]);
  }
  ASSERT_GE(jobs.size(), 5u) << build.out << build.err;
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(kept)) {
    if (entry.path().extension() == ".json") files.insert(entry.path().stem().string());
  }
  std::set<std::string> expected_files = jobs;
  expected_files.insert("install");
  EXPECT_EQ(files, expected_files);
  for (const auto& job : jobs) {
    SCOPED_TRACE(job);
    const auto rerun = world.cli({"stage", stage_of_job(job), "--request", (kept / (job + ".json")).string()});
    EXPECT_EQ(rerun.exit_code, 0) << rerun.err << rerun.out;
    if (rerun.exit_code == 0) {
      EXPECT_TRUE(nlohmann::json::parse(rerun.out).contains(stage_of_job(job))) << rerun.out;
    }
  }
}

std::vector<fs::path> build_dirs(const fs::path& work) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(work, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with("build-")) found.push_back(it->path());
  }
  return found;
}

TEST(SpineBuild, SigintDuringABuildStopsEveryStageAndLeavesNothingBehind) {
  RepoWorld world;
  // One package download stalls, so the build is surely inside a
  // fetch-packages job, with a workspace and a staging directory in use.
  world.httpd().set_rules(R"({"/pool/main/foo_1.0-1_amd64.deb": {"stall_before": 60}})");
  const auto mounts_before = mount_points();
  CliProcess cli({"--config", world.config_path().string(), "build", world.template_path().string()});
  const auto started =
      cli.wait_for_stdout(std::regex(R"(\[fetch-packages-\d+\] started \(fetcher, pid (\d+)\))"), 60s);
  ASSERT_TRUE(started) << cli.out() << cli.err();
  const pid_t stage = static_cast<pid_t>(std::stol((*started)[1]));
  const std::string pid_ns = namespace_of(stage, "pid");
  ASSERT_FALSE(pid_ns.empty());
  // The stage's mounts are in its own namespace, never in the test's table.
  const std::string mnt_ns = namespace_of(stage, "mnt");
  ASSERT_FALSE(mnt_ns.empty());
  ASSERT_NE(mnt_ns, namespace_of(::getpid(), "mnt"));
  EXPECT_FALSE(build_dirs(world.root() / "work").empty()) << "the build has a workspace while it runs";
  EXPECT_FALSE(world.leftovers().empty()) << "the build has a staging directory while it runs";
  const auto interrupted = std::chrono::steady_clock::now();
  cli.signal(SIGINT);
  const auto status = cli.wait(20s);
  ASSERT_TRUE(status) << "still running 20 s after SIGINT\n" << cli.out() << cli.err();
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted, 10s);
  EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_NE((cli.out() + cli.err()).find("SIGINT"), std::string::npos) << cli.out() << cli.err();
  EXPECT_FALSE(process_alive(stage));
  EXPECT_TRUE(processes_in_pid_namespace(pid_ns).empty());
  EXPECT_TRUE(descendants_of(cli.pid()).empty());
  EXPECT_EQ(namespace_holders("mnt", mnt_ns), std::vector<std::string>{}) << "the stage's mounts live on";
  EXPECT_EQ(mount_points(), mounts_before);
  EXPECT_TRUE(build_dirs(world.root() / "work").empty());
  EXPECT_TRUE(world.leftovers().empty());
}

}  // namespace
}  // namespace spine
