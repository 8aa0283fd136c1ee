// The real stage-installer, sandboxed as a build runs it (its seccomp
// policy, the user namespace with the subordinate range, /proc and /dev
// mounted in the tree), installs RPMs the test builds with rpmbuild through
// the host's rpm: a filesystem package with /etc/group's svc, a package with
// %attr(0750,root,svc) %caps(cap_net_raw=ep) and a %post, and a deferred
// package whose %post and %posttrans must not run. Scriptlets are <lua>, run
// by rpm itself, so the tree needs no /bin/sh. rpm and getcap are the
// oracles, read from outside.
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Runs a shell command line made of the test's own fixed words; its stdout.
std::string run(const std::string& command, int* status = nullptr) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int rc = ::pclose(pipe);
  if (status != nullptr) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return output;
}

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

constexpr const char* kHeader =
    "Version: 1.0\nRelease: 1\nSummary: test\nLicense: MIT\nBuildArch: noarch\nVendor: OIC Test\n"
    "%description\ntest\n";

// /etc/passwd and /etc/group (with svc, gid 42) first: rpm resolves %attr
// names against the tree's files when it installs the file.
constexpr const char* kFilesystemSpec =
    "Name: filesystem\n%s"
    "%%install\nmkdir -p %%{buildroot}/etc %%{buildroot}/usr/bin %%{buildroot}/var/lib/oic\n"
    "printf 'root:x:0:0:root:/root:/bin/sh\\n' > %%{buildroot}/etc/passwd\n"
    "printf 'root:x:0:\\nsvc:x:42:\\n' > %%{buildroot}/etc/group\n"
    "ln -s usr/bin %%{buildroot}/bin\n"
    "%%files\n/etc/passwd\n/etc/group\n/bin\n%%dir /usr\n%%dir /usr/bin\n%%dir /var/lib/oic\n";

// A scriptlet writing `file` (in the tree: rpm chroots for it) from rpm's Lua.
std::string lua_writer(const std::string& section, const std::string& file) {
  return "%" + section + " -p <lua>\nlocal f = io.open(\"" + file + "\", \"w\")\nf:write(\"ran\\n\")\nf:close()\n";
}

std::string spec_of(const char* format) {
  char buffer[2048];
  std::snprintf(buffer, sizeof buffer, format, kHeader);
  return buffer;
}

class RpmInstallerSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = std::getenv("OIC_STAGE_INSTALLER") ? std::getenv("OIC_STAGE_INSTALLER") : "";
    ASSERT_TRUE(fs::exists(binary_)) << "OIC_STAGE_INSTALLER must name the built stage-installer";
    std::string pattern = (fs::temp_directory_path() / "oic-rpm-installer-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    for (const char* sub : {"root", "out", "build", "specs"}) fs::create_directories(dir_ / sub);
    build_rpm("filesystem", spec_of(kFilesystemSpec));
    build_rpm("svcd", "Name: svcd\nRequires(pre): filesystem\n" + std::string(kHeader) +
                          "%install\nmkdir -p %{buildroot}/usr/bin\nprintf 'ping\\n' > %{buildroot}/usr/bin/oic-ping\n"
                          "%files\n%attr(0750,root,svc) %caps(cap_net_raw=ep) /usr/bin/oic-ping\n" +
                          lua_writer("post", "/var/lib/oic/svcd-post"));
    build_rpm("late", "Name: late\nRequires: svcd\n" + std::string(kHeader) +
                          "%install\nmkdir -p %{buildroot}/usr/share/late\ntouch %{buildroot}/usr/share/late/file\n"
                          "%files\n/usr/share/late/file\n" + lua_writer("post", "/var/lib/oic/late-post") +
                          lua_writer("posttrans", "/var/lib/oic/late-posttrans"));
    make_key();
  }

  void TearDown() override {
    if (dir_.empty()) return;
    EXPECT_NO_THROW(sandbox::remove_tree(dir_)) << "left " << dir_;
  }

  void build_rpm(const std::string& name, const std::string& spec) {
    const fs::path spec_path = dir_ / "specs" / (name + ".spec");
    write_text(spec_path, spec);
    int status = 0;
    const std::string log = run("rpmbuild -bb --quiet --define '_topdir " + (dir_ / "build").string() + "' " +
                                    spec_path.string() + " 2>&1",
                                &status);
    ASSERT_EQ(status, 0) << log;
    rpms_[name] = dir_ / "build/RPMS/noarch" / (name + "-1.0-1.noarch.rpm");
    ASSERT_TRUE(fs::exists(rpms_[name])) << log;
  }

  // A throw-away armored public key; no agent is left running.
  void make_key() {
    const fs::path home = dir_ / "gnupg";
    fs::create_directories(home);
    fs::permissions(home, fs::perms::owner_all);
    const std::string gpg = "gpg --homedir " + home.string() + " --batch --quiet ";
    int status = 0;
    const std::string log = run(gpg + "--passphrase '' --quick-gen-key 'OIC Test <test@oic.invalid>' ed25519 sign never 2>&1 && " +
                                    gpg + "--armor --export > " + (dir_ / "key.asc").string() + " 2>&1; " +
                                    "gpgconf --homedir " + home.string() + " --kill all",
                                &status);
    ASSERT_TRUE(fs::file_size(dir_ / "key.asc") > 0) << log;
    fingerprint_short_ = run(gpg + "--list-keys --with-colons 2>/dev/null | awk -F: '/^pub/ {print tolower(substr($5, 9))}'");
    while (!fingerprint_short_.empty() && fingerprint_short_.back() == '\n') fingerprint_short_.pop_back();
    run("gpgconf --homedir " + home.string() + " --kill all");
  }

  // Runs the stage on `names` (late is deferred).
  std::string run_stage(capnp::MallocMessageBuilder& result_message, std::string& error,
                        const std::vector<std::string>& names = {"svcd", "filesystem", "late"}) {  // rpm orders them
    capnp::MallocMessageBuilder message;
    auto request = message.initRoot<proto::Message>().initRequest();
    request.setSourceDateEpoch(1700000000);
    auto installer = request.initInstaller();
    auto list = installer.initPackages(static_cast<unsigned>(names.size()));
    for (unsigned i = 0; i < names.size(); ++i) {
      list[i].initFile().setPath(rpms_.at(names[i]).string());
      list[i].setName(names[i]);
      list[i].setVersion("1.0-1");
      list[i].setArchitecture("noarch");
      list[i].setSha256(run("sha256sum " + rpms_.at(names[i]).string() + " | cut -c1-64 | tr -d '\\n'"));
      list[i].initRpm().setDeferred(names[i] == "late");
    }
    auto rpm = installer.initPackageFamily().initRpm();
    rpm.setDbPath("/var/lib/rpm");
    rpm.initKeys(1)[0].setPath((dir_ / "key.asc").string());
    installer.initRootDir().setPath((dir_ / "root").string());
    installer.initOutputDir().setPath((dir_ / "out").string());
    installer.setHostname("rpm-installer-test");
    installer.setInitramfsTool("none");

    return sandboxed::run_sandboxed_installer(binary_, dir_, {}, message, result_message, error);
  }

  fs::path binary_, dir_;
  std::map<std::string, fs::path> rpms_;
  std::string fingerprint_short_;
};

TEST_F(RpmInstallerSandbox, InstallsWithRealOwnersCapabilitiesKeysAndTheDeferredPackageWithoutScriptlets) {
  capnp::MallocMessageBuilder result_message;
  std::string error;
  const std::string log = run_stage(result_message, error);
  ASSERT_TRUE(error.empty()) << error << "\n" << log;
  const auto result = result_message.getRoot<proto::StageResult>().asReader();
  ASSERT_TRUE(result.isInstaller());
  const fs::path root = dir_ / "root";

  // %attr(0750,root,svc): svc resolved against the tree's /etc/group.
  struct stat ping {};
  ASSERT_EQ(::stat((root / "usr/bin/oic-ping").c_str(), &ping), 0);
  EXPECT_EQ(static_cast<long>(ping.st_uid), host_id(0, "/etc/subuid"));
  EXPECT_EQ(static_cast<long>(ping.st_gid), host_id(42, "/etc/subgid"));
  EXPECT_EQ(ping.st_mode & 07777, 0750u);
  EXPECT_GT(::getxattr((root / "usr/bin/oic-ping").c_str(), "security.capability", nullptr, 0), 0)
      << "oic-ping lost its file capability";
  EXPECT_NE(run("getcap " + (root / "usr/bin/oic-ping").string()).find("cap_net_raw=ep"), std::string::npos);

  // The first transaction's %post ran; the deferred package's did not.
  EXPECT_EQ(read_text(root / "var/lib/oic/svcd-post"), "ran\n");
  EXPECT_TRUE(fs::exists(root / "usr/share/late/file"));
  EXPECT_FALSE(fs::exists(root / "var/lib/oic/late-post"));
  EXPECT_FALSE(fs::exists(root / "var/lib/oic/late-posttrans"));

  // finish(): sqlite's leftovers are gone before anything reads the db again.
  EXPECT_TRUE(fs::exists(root / "var/lib/rpm/rpmdb.sqlite"));
  EXPECT_FALSE(fs::exists(root / "var/lib/rpm/rpmdb.sqlite-shm"));
  EXPECT_FALSE(fs::exists(root / "var/lib/rpm/rpmdb.sqlite-wal"));

  // rpm's own view: every package and the imported key.
  const std::string listing = run("rpm --root " + root.string() + " --dbpath /var/lib/rpm -qa --qf '%{NAME}-%{VERSION}\\n' | sort");
  ASSERT_FALSE(fingerprint_short_.empty());
  EXPECT_EQ(listing, "filesystem-1.0\ngpg-pubkey-" + fingerprint_short_ + "\nlate-1.0\nsvcd-1.0\n");

  const auto installed = result.getInstaller().getInstalled();
  ASSERT_EQ(installed.size(), 3u);
  const std::vector<std::string> expected = {"filesystem", "late", "svcd"};
  for (unsigned i = 0; i < installed.size(); ++i) {
    EXPECT_EQ(std::string(installed[i].getName()), expected[i]);
    EXPECT_EQ(std::string(installed[i].getVersion()), "1.0-1");
    EXPECT_EQ(std::string(installed[i].getArchitecture()), "noarch");
  }
}

// svcd without the filesystem it requires: rpm refuses the transaction, and
// the error says which transaction and which package.
TEST_F(RpmInstallerSandbox, AFailedTransactionNamesItselfAndThePackageRpmBlames) {
  capnp::MallocMessageBuilder result_message;
  std::string error;
  const std::string log = run_stage(result_message, error, {"svcd"});
  EXPECT_NE(error.find("in the transaction (rpm names svcd-1.0-1.noarch)"), std::string::npos) << error << "\n" << log;
  EXPECT_NE(error.find("filesystem is needed by svcd-1.0-1.noarch"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir_ / "root/usr/bin/oic-ping"));
}

}  // namespace
}  // namespace stage::installer
