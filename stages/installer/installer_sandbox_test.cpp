// The real stage-installer, sandboxed as a build runs it (its seccomp
// policy, user namespace with the subordinate range, /proc and /dev mounted
// in the tree), bootstraps the hermetic repository's installable package set
// (make-debrepo.sh --installable: the target's dpkg is this machine's):
// locked and fetched with the built CLI ($OIC_CLI) from 127.0.0.1, then
// handed to the stage from the content-addressed cache. The whole Debian 12
// bootstrap runs in the image suite's builds.
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "ipc/framing.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/stage_owner.hpp"
#include "sandbox/stage_policy.hpp"
#include "sandbox/tree_removal.hpp"
#include "sandbox/userns.hpp"
#include "stages/installer/policy.hpp"
#include "stages/installer/sandboxed_installer_test.hpp"
#include "tests/repo/repo_harness.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first id of the caller's range in /etc/subuid or /etc/subgid.
long subordinate_base(const char* file) {
  const passwd* pw = ::getpwuid(::geteuid());
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const std::size_t a = line.find(':');
    const std::size_t b = line.find(':', a + 1);
    const std::string who = line.substr(0, a);
    if (who == (pw ? pw->pw_name : "") || who == std::to_string(::geteuid())) return std::stol(line.substr(a + 1, b - a - 1));
  }
  return -1;
}

// The host-side id of id `inside` in the stage's user namespace.
long host_id(long inside, const char* subordinate_file) {
  // Root's stages run as root's range (or the fallback), never as uid 0.
  if (::geteuid() == 0) {
    const char* kind = std::string_view(subordinate_file).ends_with("subgid") ? "gid" : "uid";
    return sandbox::root_stage_range(subordinate_file, kind).first + inside;
  }
  if (inside == 0) return ::geteuid();
  return subordinate_base(subordinate_file) + inside - 1;
}

class InstallerSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    world_ = std::make_unique<tests::repo::RepoWorld>(std::vector<std::string>{"--installable"},
                                                      std::vector<std::string>{"owners", "oic-boot"});
    lock_path_ = world_->root() / "lock.json";
    const auto locked = world_->cli({"lock", world_->template_path().string(), "-o", lock_path_.string()});
    ASSERT_EQ(locked.exit_code, 0) << locked.err;
    const auto fetched =
        world_->cli({"fetch", world_->template_path().string(), "--lockfile", lock_path_.string()});
    ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
    packages_ = world_->objects_dir();
    binary_ = env_or_empty("OIC_STAGE_INSTALLER");
    ASSERT_TRUE(fs::exists(binary_)) << "OIC_STAGE_INSTALLER must name the built stage-installer";
    std::string pattern = (fs::temp_directory_path() / "oic-installer-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "root");
    fs::create_directories(dir_ / "out");
  }

  void TearDown() override {
    if (dir_.empty()) return;
    // The tree belongs to subordinate ids: an unprivileged caller removes it
    // in a user namespace that maps them.
    EXPECT_NO_THROW(sandbox::remove_tree(dir_)) << "left " << dir_;
  }

  // Runs the stage on the locked packages; returns its log. Fills `result`.
  // `adjust` changes the request before it is sent.
  std::string run_stage(capnp::MallocMessageBuilder& result_message, std::string& error,
                        const std::function<void(proto::InstallerRequest::Builder)>& adjust = {}) {
    const nlohmann::json lock = nlohmann::json::parse(read_text(lock_path_));
    std::map<std::string, nlohmann::json> by_name;
    for (const nlohmann::json& p : lock.at("packages")) by_name[p.at("name").get<std::string>()] = p;
    const nlohmann::json& order = lock.at("installOrder");

    capnp::MallocMessageBuilder message;
    auto request = message.initRoot<proto::Message>().initRequest();
    request.setSourceDateEpoch(1700000000);
    auto installer = request.initInstaller();
    auto list = installer.initPackages(static_cast<unsigned>(order.size()));
    for (unsigned i = 0; i < order.size(); ++i) {
      const nlohmann::json& p = by_name.at(order[i].get<std::string>());
      const std::string sha = p.at("sha256").get<std::string>();
      list[i].initFile().setPath((packages_ / sha.substr(0, 2) / sha).string());
      list[i].setName(p.at("name").get<std::string>());
      list[i].setVersion(p.at("version").get<std::string>());
      list[i].setArchitecture(p.at("architecture").get<std::string>());
      const nlohmann::json& deb = p.at("deb");  // the lockfile's Debian section (format 2)
      list[i].initDeb().setEssential(deb.at("essential").get<bool>());
      auto pre = list[i].getDeb().initPreDepends(static_cast<unsigned>(deb.at("preDepends").size()));
      for (unsigned k = 0; k < pre.size(); ++k) pre.set(k, deb.at("preDepends")[k].get<std::string>());
      list[i].setSha256(sha);
    }
    installer.initRootDir().setPath((dir_ / "root").string());
    installer.initOutputDir().setPath((dir_ / "out").string());
    installer.setHostname("installer-test");
    installer.setInitramfsTool("none");
    installer.setInitrdFileName("initrd.img-{kver}");
    if (adjust) adjust(installer);

    return sandboxed::run_sandboxed_installer(binary_, dir_, {packages_}, message, result_message, error);
  }

  std::unique_ptr<tests::repo::RepoWorld> world_;
  fs::path lock_path_, packages_, binary_, dir_;
};

TEST_F(InstallerSandbox, BootstrapsTheLockedPackagesWithRealOwnersAndEveryPackageInstalled) {
  capnp::MallocMessageBuilder result_message;
  std::string error;
  const std::string log = run_stage(result_message, error);
  ASSERT_TRUE(error.empty()) << error << "\n" << log;
  const auto result = result_message.getRoot<proto::StageResult>().asReader();
  ASSERT_TRUE(result.isInstaller());
  const fs::path root = dir_ / "root";

  // Owners and modes the package's postinst set inside the tree, as the
  // host sees them through the subordinate range.
  struct stat shadow {};
  ASSERT_EQ(::stat((root / "etc/oic-shadow").c_str(), &shadow), 0);
  EXPECT_EQ(static_cast<long>(shadow.st_uid), host_id(0, "/etc/subuid"));
  EXPECT_EQ(static_cast<long>(shadow.st_gid), host_id(42, "/etc/subgid"));
  EXPECT_EQ(shadow.st_mode & 07777, 0640u);
  struct stat setuid_bin {};
  ASSERT_EQ(::stat((root / "usr/bin/oic-setuid").c_str(), &setuid_bin), 0);
  EXPECT_NE(setuid_bin.st_mode & S_ISUID, 0u) << "oic-setuid lost its setuid bit";
  EXPECT_EQ(read_text(root / "var/lib/oic-owners/configured"), "configured by postinst\n");
  EXPECT_FALSE(fs::exists(root / "usr/sbin/policy-rc.d"));
  EXPECT_FALSE(fs::exists(root / "var/cache/oic-install"));

  // dpkg's own view of the tree: every locked package is "ii".
  const nlohmann::json lock = nlohmann::json::parse(read_text(lock_path_));
  std::string listing;
  {
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(pipefd[1], 1);
      const std::string admindir = "--admindir=" + (root / "var/lib/dpkg").string();
      ::execl("/usr/bin/dpkg-query", "dpkg-query", admindir.c_str(), "-W", "-f=${db:Status-Abbrev}${Package}\\n",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(pipefd[1]);
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) listing.append(buf, static_cast<std::size_t>(n));
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  std::size_t installed = 0;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.starts_with("ii ")) << line;
    installed += line.starts_with("ii ") ? 1 : 0;
  }
  EXPECT_EQ(installed, lock.at("packages").size()) << listing;
  EXPECT_EQ(result.getInstaller().getInstalled().size(), lock.at("packages").size());
  EXPECT_FALSE(result.getInstaller().getBuildEnvReused());
}

// oic-boot's postinst runs update-initramfs as a kernel's hook does: while
// packages install that is a no-op (the installer makes the initramfs once,
// afterwards), and after the install the package's own program is back in
// place with no diversion left.
TEST_F(InstallerSandbox, PackagesMakeNoInitramfsWhileTheyInstallAndUpdateInitramfsIsRestored) {
  capnp::MallocMessageBuilder result_message;
  std::string error;
  const std::string log = run_stage(result_message, error);
  ASSERT_TRUE(error.empty()) << error << "\n" << log;
  const fs::path root = dir_ / "root";
  EXPECT_FALSE(fs::exists(root / "boot/initrd.img-6.1.0-oic-hook")) << "the postinst's update-initramfs ran";
  EXPECT_NE(read_text(root / "usr/sbin/update-initramfs").find("placeholder initramfs for"), std::string::npos);
  EXPECT_FALSE(fs::exists(root / "usr/sbin/update-initramfs.oic-deferred"));
  const fs::path diversions = root / "var/lib/dpkg/diversions";
  const std::string diverted = fs::exists(diversions) ? read_text(diversions) : "";
  EXPECT_EQ(diverted.find("update-initramfs"), std::string::npos) << diverted;
}

// A configuration command that leaves a process running (here one that
// writes into the tree without end) has it ended before the initramfs is
// made: nothing of the template changes the tree after the initramfs step
// hashed it (initramfs_cache.hpp).
TEST_F(InstallerSandbox, AProcessTheConfigurationLeftRunningIsEndedBeforeTheInitramfs) {
  capnp::MallocMessageBuilder result_message;
  std::string error;
  const std::string log = run_stage(result_message, error, [](proto::InstallerRequest::Builder installer) {
    installer.setInitramfsTool("initramfs-tools");
    installer.initCommands(1)[0].setScript(
        "( i=0; while :; do i=$((i+1)); echo $i >/oic-daemon-count; done ) >/dev/null 2>&1 &\n"
        "while [ ! -s /oic-daemon-count ]; do :; done\n");
  });
  ASSERT_TRUE(error.empty()) << error << "\n" << log;
  EXPECT_NE(log.find("Ended processes the configuration left running"), std::string::npos) << log;
  const fs::path root = dir_ / "root";
  struct stat daemon {}, initrd {};
  ASSERT_EQ(::stat((root / "oic-daemon-count").c_str(), &daemon), 0);
  ASSERT_EQ(::stat((root / "boot/initrd.img-6.1.0-oic").c_str(), &initrd), 0) << log;
  const auto ns = [](const timespec& t) { return t.tv_sec * 1'000'000'000LL + t.tv_nsec; };
  EXPECT_LT(ns(daemon.st_mtim), ns(initrd.st_mtim)) << "the daemon still wrote after the initramfs was made";
}

}  // namespace
}  // namespace stage::installer
