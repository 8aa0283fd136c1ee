// Stages started by root: uid 0 of a stage is a subordinate host uid, never
// host root. Host files owned by root stay out of reach even with the
// installer's file capabilities, core_pattern cannot be written, and binds
// from root-only directories still work. Skipped unless run as root (CI
// runs the adversarial suite as the unprivileged user and then as root).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "sandbox/baseline_policy.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/stage_owner.hpp"
#include "sandbox/syscall_sets.hpp"
#include "sandbox/testing/probe_run.hpp"
#include "sandbox/tree_removal.hpp"

namespace sandbox {
namespace {

namespace fs = std::filesystem;
using testing::probe_spec;
using testing::run;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The "Groups:" line of /proc/PID/status without its blanks.
std::string groups_of(const std::string& proc) {
  std::istringstream status(read_text(proc + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (!line.starts_with("Groups:")) continue;
    std::erase_if(line, [](char c) { return c == ' ' || c == '\t'; });
    return line.substr(7);
  }
  return "(no Groups line)";
}

// A 0700 directory owned by host root, as /root or a root caller's cache is.
class RootOnlyDir {
 public:
  RootOnlyDir() {
    std::string pattern = "/tmp/oic-root-mode-XXXXXX";
    base::check(mkdtemp(pattern.data()) != nullptr, "Failed to create a temporary directory");
    path_ = pattern;
  }
  ~RootOnlyDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A stage with the installer's file capabilities and write syscalls.
StagePolicy installer_like() {
  StagePolicy policy{"root-mode", baseline_policy()};
  policy.seccomp.allow(syscalls::filesystem_write());
  policy.capabilities = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID};
  return policy;
}

class RootMode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "root-mode case: runs only as root (CI runs this suite as root too)";
    owner_ = stage_root_owner();
    ASSERT_TRUE(owner_.has_value());
  }
  std::optional<HostOwner> owner_;
};

TEST_F(RootMode, StageRootIsASubordinateHostUid) {
  EXPECT_NE(owner_->uid, 0u);
  EXPECT_NE(owner_->gid, 0u);
  int out[2];
  base::check_syscall(pipe2(out, O_CLOEXEC), "create", "pipe");
  base::UniqueFd out_read{out[0]}, out_write{out[1]};
  int in[2];
  base::check_syscall(pipe2(in, O_CLOEXEC), "create", "pipe");
  base::UniqueFd in_read{in[0]}, in_write{in[1]};
  SandboxSpec spec = probe_spec(baseline_policy(), {"pause"});
  spec.fds = {{in_read.get(), 0}, {out_write.get(), 1}};
  SpawnedStage stage = spawn(spec);
  out_write.reset();
  char ready[6] = {};
  ASSERT_EQ(read(out_read.get(), ready, 6), 6);
  const std::string proc = "/proc/" + std::to_string(stage.pid());
  std::istringstream map(read_text(proc + "/uid_map"));
  uint64_t inside = 1, outside = 0, count = 0;
  map >> inside >> outside >> count;
  EXPECT_EQ(inside, 0u);
  EXPECT_EQ(outside, owner_->uid) << "uid 0 of the stage must be the stage root owner, not host root";
  const std::string uid = std::to_string(owner_->uid);
  EXPECT_NE(read_text(proc + "/status").find("Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n"),
            std::string::npos);
  const std::string gid = std::to_string(owner_->gid);
  EXPECT_NE(read_text(proc + "/status").find("Gid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid + "\n"),
            std::string::npos);
  EXPECT_EQ(groups_of(proc), "") << "host root's supplementary groups are dropped";
  in_write.reset();
  EXPECT_EQ(stage.wait(), 0);
}

// The probe writes the value already there: if the write got through, the
// host would not notice, but the test would.
TEST_F(RootMode, CorePatternCannotBeWritten) {
  const std::string before = read_text("/proc/sys/kernel/core_pattern");
  std::string value = before;
  if (!value.empty() && value.back() == '\n') value.pop_back();
  const testing::ProbeRun r = run(probe_spec(installer_like(), {"write-file", "/proc/sys/kernel/core_pattern", value}));
  EXPECT_NE(r.out.find("write-file: errno "), std::string::npos) << r.describe();
  EXPECT_EQ(read_text("/proc/sys/kernel/core_pattern"), before);
}

TEST_F(RootMode, RootOwnedHostFilesInAWritableBindStayUntouched) {
  RootOnlyDir dir;
  const fs::path shared = dir.path() / "shared";
  fs::create_directory(shared);
  fs::permissions(shared, fs::perms(0755));
  std::ofstream(shared / "sentinel") << "host\n";
  fs::permissions(shared / "sentinel", fs::perms(0644));
  SandboxSpec spec = probe_spec(installer_like(), {"write-file", "/shared/sentinel", "stage\n"});
  spec.mounts.push_back({MountKind::kBindRw, shared.string(), "/shared", {}});
  const testing::ProbeRun write = run(spec);
  EXPECT_NE(write.out.find("write-file: errno " + std::to_string(EACCES)), std::string::npos) << write.describe();
  spec.argv = {"probe", "create-file", "/shared/planted"};
  const testing::ProbeRun create = run(spec);
  EXPECT_NE(create.out.find("create-file: errno " + std::to_string(EACCES)), std::string::npos) << create.describe();
  EXPECT_EQ(read_text(shared / "sentinel"), "host\n");
  EXPECT_FALSE(fs::exists(shared / "planted"));
}

TEST_F(RootMode, BindFromRootOnlyDirectoryWorksAndFilesBelongToTheStageRoot) {
  RootOnlyDir dir;
  ASSERT_EQ(fs::status(dir.path()).permissions(), fs::perms(0700));
  const fs::path work = dir.path() / "work";
  fs::create_directory(work);
  give_to_stage_root(work);
  struct stat st {};
  ASSERT_EQ(lstat(work.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, owner_->uid);
  EXPECT_EQ(st.st_gid, owner_->gid);
  const fs::path object = dir.path() / "object";
  std::ofstream(object) << "package\n";
  fs::permissions(object, fs::perms(0444));

  SandboxSpec spec = probe_spec(installer_like(), {"create-file", "/work/made"});
  spec.mounts.push_back({MountKind::kBindRw, work.string(), "/work", {}});
  spec.mounts.push_back({MountKind::kBindRo, object.string(), "/object", {}});
  const testing::ProbeRun create = run(spec);
  ASSERT_TRUE(create.succeeded()) << create.describe();
  ASSERT_EQ(lstat((work / "made").c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u) << "a file the stage made must not belong to host root";
  EXPECT_EQ(st.st_uid, owner_->uid);
  spec.argv = {"probe", "read-count", "/object"};
  const testing::ProbeRun read = run(spec);
  EXPECT_NE(read.out.find("bytes 8\n"), std::string::npos) << read.describe();

  remove_tree(work);  // a tree owned by the subordinate range
  EXPECT_FALSE(fs::exists(work));
}

// Switching to the mapped root changes the child's credentials, which clears
// its parent-death signal: the stage must still die with its parent.
TEST_F(RootMode, StageStillDiesWithItsParent) {
  int in[2], out[2], go[2];
  base::check_syscall(pipe2(in, O_CLOEXEC), "create", "pipe");
  base::check_syscall(pipe2(out, O_CLOEXEC), "create", "pipe");
  base::check_syscall(pipe2(go, O_CLOEXEC), "create", "pipe");
  base::UniqueFd in_read{in[0]}, in_write{in[1]}, out_read{out[0]}, out_write{out[1]}, go_read{go[0]}, go_write{go[1]};
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    SandboxSpec spec = probe_spec(baseline_policy(), {"pause"});
    spec.fds = {{in_read.get(), 0}, {out_write.get(), 1}};
    SpawnedStage stage = spawn(spec);
    char byte = 0;
    [[maybe_unused]] const ssize_t n = read(go_read.get(), &byte, 1);
    _exit(0);  // without the destructor's kill: only the parent-death signal ends the stage
  }
  in_read.reset();
  out_write.reset();
  char ready[6] = {};
  ASSERT_EQ(read(out_read.get(), ready, sizeof(ready)), 6);
  ASSERT_EQ(write(go_write.get(), "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(parent, &status, 0), parent);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The stage holds its stdout until it dies; stdin stays open here, so
  // "pause" would wait forever.
  pollfd fd{out_read.get(), POLLIN, 0};
  ASSERT_EQ(poll(&fd, 1, 10000), 1) << "the stage outlived its parent";
  char rest[16];
  EXPECT_EQ(read(out_read.get(), rest, sizeof(rest)), 0);
}

// A directory of another user named as a stage's output keeps its owner.
TEST_F(RootMode, OnlyWhatRootOwnsIsHandedToTheStageRoot) {
  RootOnlyDir dir;
  const fs::path users = dir.path() / "users";
  fs::create_directory(users);
  ASSERT_EQ(chown(users.c_str(), 1234, 1234), 0);
  EXPECT_THROW(give_to_stage_root(users), base::Error);
  struct stat st {};
  ASSERT_EQ(lstat(users.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  fs::create_symlink(users, dir.path() / "link");
  give_to_stage_root(dir.path() / "link");  // the link itself, as lchown
  ASSERT_EQ(lstat(users.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u) << "a symlink is not followed";
}

}  // namespace
}  // namespace sandbox
