#include "stages/installer/os_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "stages/installer/test_files.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using stage::installer::testing::slurp;
using stage::installer::testing::spit;
using stage::installer::testing::mode_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A tree with the account databases useradd and groupadd would edit.
class OsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/os_config_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    spit(root_ / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    spit(root_ / "etc/group", "root:x:0:\nusers:x:100:\n");
  }
  void TearDown() override { fs::remove_all(base_); }

  // Records every command and plays the part of groupadd and useradd, with
  // the test's own uid so that files can be given to the "new" user.
  CommandRunner recorder() {
    return [this](const ChrootCommand& command, const std::string&) {
      commands_.push_back(command);
      const auto& argv = command.argv;
      if (argv[0] == "groupadd") {
        std::ofstream(root_ / "etc/group", std::ios::app) << argv[1] << ":x:1001:\n";
      } else if (argv[0] == "useradd") {
        const std::string name = argv.back();
        std::ofstream(root_ / "etc/passwd", std::ios::app)
            << name << ":x:" << ::getuid() << ":" << ::getgid() << "::/home/" << name << ":/bin/bash\n";
        fs::create_directories(root_ / "home" / name);
      }
      return std::string();
    };
  }

  std::vector<std::vector<std::string>> argvs() const {
    std::vector<std::vector<std::string>> out;
    for (const auto& c : commands_) out.push_back(c.argv);
    return out;
  }

  fs::path base_;
  fs::path root_;
  std::vector<ChrootCommand> commands_;
};

TEST_F(OsConfigTest, WritesHostnameAndHosts) {
  write_hostname(root_, "builder.example.org");
  EXPECT_EQ(slurp(root_ / "etc/hostname"), "builder.example.org\n");
  const std::string hosts = slurp(root_ / "etc/hosts");
  EXPECT_THAT(hosts, HasSubstr("127.0.0.1\tlocalhost\n"));
  EXPECT_THAT(hosts, HasSubstr("127.0.1.1\tbuilder.example.org\tbuilder\n"));
  EXPECT_THAT(hosts, HasSubstr("::1\t\tlocalhost ip6-localhost ip6-loopback\n"));
  EXPECT_EQ(mode_of(root_ / "etc/hosts"), 0644u);
}

TEST_F(OsConfigTest, RejectsInvalidHostnames) {
  for (const std::string& bad : std::vector<std::string>{"", "-leading", "has space", "a/b", std::string(65, 'a'), "line\nbreak"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(write_hostname(root_, bad), base::Error);
  }
  EXPECT_FALSE(fs::exists(root_ / "etc/hostname"));
}

TEST_F(OsConfigTest, EmptiesMachineIdAndRemovesTheDbusCopy) {
  spit(root_ / "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  spit(root_ / "var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n");
  reset_machine_id(root_);
  EXPECT_TRUE(fs::exists(root_ / "etc/machine-id"));
  EXPECT_EQ(fs::file_size(root_ / "etc/machine-id"), 0u);
  EXPECT_EQ(mode_of(root_ / "etc/machine-id"), 0444u);
  EXPECT_FALSE(fs::exists(root_ / "var/lib/dbus/machine-id"));
  reset_machine_id(root_);  // again: a read-only empty file and no D-Bus copy are fine
  EXPECT_EQ(fs::file_size(root_ / "etc/machine-id"), 0u);
}

TEST_F(OsConfigTest, RemovesThePackageToolsLogsAndBackupsOnly) {
  for (const char* path : {"var/log/dpkg.log", "var/log/apt/history.log", "var/log/apt/eipp.log.xz",
                           "var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old",
                           "var/cache/debconf/templates.dat-old", "var/lib/dpkg/status", "var/log/wtmp"}) {
    spit(root_ / path, "2026-12-06 14:00:00 configure\n");
  }
  fs::create_symlink("/etc/passwd", root_ / "var/log/alternatives.log");
  remove_build_logs(root_);
  EXPECT_TRUE(fs::exists(root_ / "var/lib/dpkg/status-old")) << "a dpkg backup is not a log";
  remove_dpkg_backups(root_);
  for (const char* gone : {"var/log/dpkg.log", "var/log/apt/history.log", "var/log/apt/eipp.log.xz",
                           "var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old",
                           "var/cache/debconf/templates.dat-old", "var/log/alternatives.log"}) {
    EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / gone))) << gone;
  }
  EXPECT_TRUE(fs::exists(root_ / "var/lib/dpkg/status"));
  EXPECT_TRUE(fs::exists(root_ / "var/log/wtmp"));
  remove_build_logs(root_);  // again: nothing left to remove is fine
  remove_dpkg_backups(root_);
}

TEST(Fstab, FormatsColumnsWithDefaultsAndEscapedBlanks) {
  const std::string text = format_fstab({{"UUID=1234", "/", "ext4", "errors=remount-ro", 0, 1},
                                         {"UUID=ABCD-EF01", "/boot/efi", "vfat", "", 0, 2},
                                         {"LABEL=data", "/srv/my data", "ext4", "noatime", 0, 2}});
  EXPECT_THAT(text, ::testing::StartsWith("# /etc/fstab"));
  EXPECT_THAT(text, HasSubstr("\nUUID=1234\t/\text4\terrors=remount-ro\t0\t1\n"));
  EXPECT_THAT(text, HasSubstr("\nUUID=ABCD-EF01\t/boot/efi\tvfat\tdefaults\t0\t2\n"));
  EXPECT_THAT(text, HasSubstr("\nLABEL=data\t/srv/my\\040data\text4\tnoatime\t0\t2\n"));
}

TEST(Fstab, RejectsEmptyAndMultiLineFields) {
  EXPECT_THROW(format_fstab({{"", "/", "ext4", "", 0, 1}}), base::Error);
  EXPECT_THROW(format_fstab({{"UUID=1", "/", "", "", 0, 1}}), base::Error);
  EXPECT_THROW(format_fstab({{"UUID=1", "/\n/etc", "ext4", "", 0, 1}}), base::Error);
}

TEST_F(OsConfigTest, CreatesMissingGroupsThenTheUserWithItsHash) {
  spit(root_ / "usr/bin/sudo", "");
  const UserSpec user{.name = "alice", .password_hash = "$6$salt$hash", .uid = 1500,
                      .groups = {"users", "docker"}, .sudo = true};
  create_user(root_, user, "sudo", recorder());
  EXPECT_THAT(argvs(), ElementsAre(
      std::vector<std::string>{"groupadd", "docker"},
      std::vector<std::string>{"groupadd", "sudo"},
      std::vector<std::string>{"useradd", "-m", "-s", "/bin/bash", "-u", "1500", "-G", "users,docker,sudo", "alice"},
      std::vector<std::string>{"chpasswd", "--encrypted"}));
  // The hash travels on stdin only.
  EXPECT_EQ(commands_.back().input, "alice:$6$salt$hash\n");
  EXPECT_EQ(slurp(root_ / "etc/sudoers.d/alice"), "alice ALL=(ALL:ALL) ALL\n");
  EXPECT_EQ(mode_of(root_ / "etc/sudoers.d/alice"), 0440u);
}

TEST_F(OsConfigTest, LocksTheAccountWhenNoHashIsGivenAndSkipsSudoersWithoutSudo) {
  const UserSpec user{.name = "bob", .shell = "/bin/zsh", .home = "/srv/bob", .sudo = true};
  create_user(root_, user, "sudo", recorder());
  EXPECT_THAT(argvs(), ElementsAre(
      std::vector<std::string>{"groupadd", "sudo"},
      std::vector<std::string>{"useradd", "-m", "-s", "/bin/zsh", "-d", "/srv/bob", "-G", "sudo", "bob"},
      std::vector<std::string>{"usermod", "-L", "bob"}));
  EXPECT_FALSE(fs::exists(root_ / "etc/sudoers.d/bob"));
}

// The sudo group is the distribution's (provider config.yml), not always "sudo".
TEST_F(OsConfigTest, ASudoUserJoinsTheDistributionsSudoGroup) {
  spit(root_ / "etc/group", "wheel:x:10:\n");
  create_user(root_, {.name = "erin", .groups = {"users"}, .sudo = true}, "wheel", recorder());
  EXPECT_THAT(argvs(), ElementsAre(
      std::vector<std::string>{"groupadd", "users"},
      std::vector<std::string>{"useradd", "-m", "-s", "/bin/bash", "-G", "users,wheel", "erin"},
      std::vector<std::string>{"usermod", "-L", "erin"}));
}

TEST_F(OsConfigTest, ASudoUserNeedsAValidSudoGroup) {
  for (const char* group : {"", "sudo,adm", "-G"}) {
    SCOPED_TRACE(group);
    try {
      create_user(root_, {.name = "erin", .sudo = true}, group, recorder());
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("sudoGroup '" + std::string(group) + "' is not a group name"));
    }
  }
  // A user without sudo needs no sudo group.
  EXPECT_NO_THROW(create_user(root_, {.name = "frank"}, "", recorder()));
}

TEST_F(OsConfigTest, AddsAnExistingUserToItsGroupsInsteadOfCreatingIt) {
  create_user(root_, {.name = "root", .password_hash = "$y$j9T$abc", .groups = {"users"}}, "sudo", recorder());
  EXPECT_THAT(argvs(), ElementsAre(std::vector<std::string>{"usermod", "-a", "-G", "users", "root"},
                                   std::vector<std::string>{"chpasswd", "--encrypted"}));
}

TEST_F(OsConfigTest, PasswordMaxAgeIsSetWithTheImagesChageAfterThePassword) {
  spit(root_ / "usr/bin/chage", "");
  create_user(root_, {.name = "gina", .password_hash = "$6$s$h", .password_max_age = 90}, "sudo", recorder());
  EXPECT_THAT(argvs(), ElementsAre(std::vector<std::string>{"useradd", "-m", "-s", "/bin/bash", "gina"},
                                   std::vector<std::string>{"chpasswd", "--encrypted"},
                                   std::vector<std::string>{"chage", "-M", "90", "gina"}));
  commands_.clear();
  create_user(root_, {.name = "root", .password_max_age = -1}, "sudo", recorder());
  EXPECT_THAT(argvs(), ElementsAre(std::vector<std::string>{"usermod", "-L", "root"},
                                   std::vector<std::string>{"chage", "-M", "-1", "root"}));
}

TEST_F(OsConfigTest, PasswordMaxAgeWithoutChageOrOutOfRangeIsAnErrorNamingTheUser) {
  try {
    create_user(root_, {.name = "gina", .password_max_age = 30}, "sudo", recorder());
    ADD_FAILURE() << "no error without chage";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("passwordMaxAge of user 'gina': 'chage' is not in the image"));
  }
  spit(root_ / "usr/bin/chage", "");
  EXPECT_THROW(create_user(root_, {.name = "hal", .password_max_age = 100000}, "sudo", recorder()), base::Error);
}

TEST_F(OsConfigTest, InstallsAuthorizedKeysOwnedByTheUser) {
  create_user(root_, {.name = "carol", .ssh_authorized_keys = {"ssh-ed25519 AAAA carol@a", "ssh-rsa BBBB c@b"}},
              "sudo", recorder());
  const fs::path keys = root_ / "home/carol/.ssh/authorized_keys";
  EXPECT_EQ(slurp(keys), "ssh-ed25519 AAAA carol@a\nssh-rsa BBBB c@b\n");
  EXPECT_EQ(mode_of(keys), 0600u);
  EXPECT_EQ(mode_of(root_ / "home/carol/.ssh"), 0700u);
  struct stat st {};
  ASSERT_EQ(::stat(keys.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());
}

TEST_F(OsConfigTest, RejectsUnsafeUserInput) {
  struct Case {
    const char* why;
    UserSpec user;
  } cases[] = {
      {"would be read as an option", {.name = "-oNone"}},
      {"upper case is not a Debian account name", {.name = "Alice"}},
      {"a colon would corrupt /etc/passwd", {.name = "a:b"}},
      {"empty name", {.name = ""}},
      {"a colon would split the chpasswd line", {.name = "dave", .password_hash = "$6$a:b"}},
      {"a newline would add a second chpasswd line", {.name = "dave", .password_hash = "$6$a\nroot:x"}},
      {"a group that is an option", {.name = "dave", .groups = {"--help"}}},
      {"relative shell", {.name = "dave", .shell = "bash"}},
      {"a key spanning two lines", {.name = "dave", .ssh_authorized_keys = {"ssh-rsa A\nssh-rsa B"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    EXPECT_THROW(create_user(root_, c.user, "sudo", recorder()), base::Error);
  }
}

class AdditionalFileTest : public OsConfigTest {
 protected:
  base::UniqueFd source(const std::string& content) {
    spit(base_ / "source", content);
    return base::UniqueFd(::open((base_ / "source").c_str(), O_RDONLY | O_CLOEXEC));
  }
};

TEST_F(AdditionalFileTest, CopiesWithModeAndCreatesParents) {
  install_additional_file(root_, source("#!/bin/sh\necho hi\n").get(), "/usr/local/bin/hello", 04755);
  EXPECT_EQ(slurp(root_ / "usr/local/bin/hello"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(mode_of(root_ / "usr/local/bin/hello"), 04755u);
  EXPECT_EQ(mode_of(root_ / "usr/local/bin"), 0755u);
}

TEST_F(AdditionalFileTest, RefusesDestinationsOutsideTheImage) {
  for (const char* bad : {"../escape", "/../escape", "/etc/../../escape", "relative/path", "/", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(install_additional_file(root_, source("x").get(), bad, 0644), base::Error);
  }
  EXPECT_FALSE(fs::exists(base_ / "escape"));
}

TEST_F(AdditionalFileTest, ResolvesSymlinksInsideTheTree) {
  // An absolute symlink in the image means a path of the image, not of the host.
  fs::create_directories(base_ / "outside");
  fs::create_directories(root_ / fs::path(base_ / "outside").relative_path());
  fs::create_directories(root_ / "outside");
  fs::create_symlink(base_ / "outside", root_ / "etc/absolute");
  fs::create_symlink("../../../../outside", root_ / "etc/relative");
  install_additional_file(root_, source("one").get(), "/etc/absolute/file", 0644);
  install_additional_file(root_, source("two").get(), "/etc/relative/file", 0644);
  EXPECT_FALSE(fs::exists(base_ / "outside/file"));
  EXPECT_EQ(slurp(root_ / fs::path(base_ / "outside/file").relative_path()), "one");
  EXPECT_EQ(slurp(root_ / "outside/file"), "two");
}

TEST(CommandArgv, RunsScriptsWithTheImageShellAndArgvAsIs) {
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<ipc::proto::InstallerRequest::Command>();
  command.setScript("echo hi > /etc/motd");
  EXPECT_THAT(command_argv(command), ElementsAre("/bin/sh", "-c", "echo hi > /etc/motd"));
  auto argv = command.initArgv(2);
  argv.set(0, "systemctl");
  argv.set(1, "enable");
  EXPECT_THAT(command_argv(command), ElementsAre("systemctl", "enable"));
  command.initArgv(0);
  EXPECT_THROW(command_argv(command), base::Error);
}

TEST_F(OsConfigTest, AppliesTheWholeRequestAndRunsCommandsLastWithATimeout) {
  spit(base_ / "motd", "welcome\n");
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  request.setHostname("edge");
  request.setKernelCmdline("console=ttyS0,115200 quiet");
  request.setRootFsUuid("1111");
  auto fstab = request.initFstab(1);
  fstab[0].setSpec("UUID=1111");
  fstab[0].setMountPoint("/");
  fstab[0].setFsType("ext4");
  fstab[0].setPass(1);
  auto users = request.initUsers(1);
  users[0].setName("erin");
  auto files = request.initAdditionalFiles(1);
  files[0].getSource().setPath((base_ / "motd").string());
  files[0].setDestination("/etc/motd");
  auto commands = request.initCommands(2);
  commands[0].setScript("touch /etc/configured");
  commands[1].initArgv(1).set(0, "true");

  ipc::StageContext context(-1, ipc::proto::StageKind::INSTALLER, {});
  apply_os_configuration(root_, request.asReader(), context, recorder());

  EXPECT_EQ(slurp(root_ / "etc/hostname"), "edge\n");
  // The whole command line, root file system included (kernel-install reads it as is).
  EXPECT_EQ(slurp(root_ / "etc/kernel/cmdline"), "root=UUID=1111 ro console=ttyS0,115200 quiet\n");
  EXPECT_THAT(slurp(root_ / "etc/fstab"), HasSubstr("\nUUID=1111\t/\text4\tdefaults\t0\t1\n"));
  EXPECT_EQ(fs::file_size(root_ / "etc/machine-id"), 0u);
  EXPECT_EQ(slurp(root_ / "etc/motd"), "welcome\n");
  ASSERT_GE(commands_.size(), 2u);
  const auto& script = commands_[commands_.size() - 2];
  EXPECT_THAT(script.argv, ElementsAre("/bin/sh", "-c", "touch /etc/configured"));
  EXPECT_EQ(script.timeout, kCommandTimeout);
  EXPECT_THAT(commands_.back().argv, ElementsAre("true"));
  EXPECT_EQ(commands_.back().timeout, kCommandTimeout);
}

// The script comes from an additional file of the same request: it is
// checked once every file is placed, then it is root's login shell.
TEST_F(OsConfigTest, TheStartupScriptBecomesTheLoginShellOnceAdditionalFilesArePlaced) {
  spit(base_ / "start", "#!/bin/sh\nexec /bin/sh\n");
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  auto users = request.initUsers(1);
  users[0].setName("root");
  users[0].setStartupScript("/root/start");
  auto files = request.initAdditionalFiles(1);
  files[0].getSource().setPath((base_ / "start").string());
  files[0].setDestination("/root/start");
  files[0].setMode(0755);
  ipc::StageContext context(-1, ipc::proto::StageKind::INSTALLER, {});
  apply_os_configuration(root_, request.asReader(), context, recorder());
  EXPECT_EQ(slurp(root_ / "etc/passwd"), "root:x:0:0:root:/root:/root/start\n");
  EXPECT_EQ(mode_of(root_ / "etc/passwd"), 0644u);
}

TEST_F(OsConfigTest, AStartupScriptMissingOrNotExecutableIsAnErrorNamingUserAndPath) {
  UserSpec user{.name = "root", .startup_script = "/root/start"};
  auto message_of = [&] {
    try {
      set_startup_script(root_, user);
    } catch (const base::Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_THAT(message_of(), HasSubstr("startupScript '/root/start' of user 'root': it is not in the image"));
  spit(root_ / "root/start", "#!/bin/sh\n");
  fs::permissions(root_ / "root/start", fs::perms(0644));
  EXPECT_THAT(message_of(), HasSubstr("startupScript '/root/start' of user 'root': it is not an executable file"));
  fs::create_directories(root_ / "root/dir");
  user.startup_script = "/root/dir";
  EXPECT_THAT(message_of(), HasSubstr("it is not an executable file"));
  user.startup_script = "root/start";
  EXPECT_THAT(message_of(), HasSubstr("must be an absolute path"));
  user = UserSpec{.name = "nobody", .startup_script = "/root/start"};
  fs::permissions(root_ / "root/start", fs::perms(0755));
  EXPECT_THAT(message_of(), HasSubstr("Failed to set the login shell of 'nobody': no such user"));
  EXPECT_EQ(slurp(root_ / "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
}

TEST_F(OsConfigTest, StopsAtTheFirstFailingCommand) {
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  auto commands = request.initCommands(2);
  commands[0].initArgv(1).set(0, "false");
  commands[1].initArgv(1).set(0, "true");
  int runs = 0;
  CommandRunner failing = [&](const ChrootCommand& command, const std::string& what) -> std::string {
    ++runs;
    if (command.argv[0] == "false") throw base::Error(base::ErrorKind::kFailed, what + ": exited with status 1");
    return {};
  };
  ipc::StageContext context(-1, ipc::proto::StageKind::INSTALLER, {});
  try {
    apply_os_configuration(root_, request.asReader(), context, failing);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("configuration command 1 of 2"));
  }
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace stage::installer
