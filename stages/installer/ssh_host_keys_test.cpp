// The SSH host keys the packages made leave the tree, and a tree with sshd
// and systemd gets the unit that makes them at first boot.
#include "stages/installer/ssh_host_keys.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>

#include "stages/installer/test_files.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using stage::installer::testing::slurp;
using stage::installer::testing::spit;

class SshHostKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "oic-ssh-keys-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    root_ = dir_ / "root";
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // What openssh-server's postinst leaves, and the files beside the keys.
  void plant_keys() {
    for (const char* type : {"rsa", "ecdsa", "ed25519"}) {
      spit(root_ / "etc/ssh" / (std::string("ssh_host_") + type + "_key"), "private");
      spit(root_ / "etc/ssh" / (std::string("ssh_host_") + type + "_key.pub"), "public");
    }
    spit(root_ / "etc/ssh/sshd_config", "Port 22\n");
    spit(root_ / "etc/ssh/moduli", "moduli\n");
    spit(root_ / "etc/ssh/ssh_host_rsa_key.bak", "kept: not a name ssh-keygen gives");
  }
  void plant_sshd_and_systemd() {
    spit(root_ / "usr/sbin/sshd", "");
    spit(root_ / "usr/lib/systemd/systemd", "");
  }

  fs::path dir_;
  fs::path root_;
};

TEST_F(SshHostKeys, EveryKeyAndItsPublicHalfAreRemovedAndNothingElse) {
  plant_keys();
  spit(dir_ / "outside", "host file");
  fs::create_symlink(dir_ / "outside", root_ / "etc/ssh/ssh_host_dsa_key");
  EXPECT_EQ(remove_ssh_host_keys(root_), 7);
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(root_ / "etc/ssh")) left.insert(entry.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"moduli", "ssh_host_rsa_key.bak", "sshd_config"}));
  EXPECT_EQ(slurp(dir_ / "outside"), "host file") << "a link is removed, not followed";
  EXPECT_EQ(remove_ssh_host_keys(root_), 0);
}

TEST_F(SshHostKeys, ATreeWithoutSshOrWithALinkOutOfItIsLeftAlone) {
  EXPECT_EQ(remove_ssh_host_keys(root_), 0);
  spit(dir_ / "host/etc/ssh/ssh_host_rsa_key", "the host's");
  fs::create_directories(root_ / "etc");
  fs::create_symlink(dir_ / "host/etc/ssh", root_ / "etc/ssh");
  EXPECT_EQ(remove_ssh_host_keys(root_), 0) << "the link resolves inside the tree, where nothing is";
  EXPECT_TRUE(fs::exists(dir_ / "host/etc/ssh/ssh_host_rsa_key"));
}

TEST_F(SshHostKeys, ATreeWithSshdAndNoKeyMakesThemBeforeTheServerStarts) {
  plant_sshd_and_systemd();
  ASSERT_TRUE(make_ssh_host_keys_at_first_boot(root_));
  const std::string unit = slurp(root_ / "etc/systemd/system" / kSshHostKeysUnit);
  EXPECT_NE(unit.find("ExecStart=/usr/bin/ssh-keygen -A\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("Before=ssh.service sshd.service\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("WantedBy=multi-user.target\n"), std::string::npos) << unit;
  const fs::path wanted = root_ / "etc/systemd/system/multi-user.target.wants" / kSshHostKeysUnit;
  ASSERT_TRUE(fs::is_symlink(wanted));
  EXPECT_EQ(fs::read_symlink(wanted), fs::path("/etc/systemd/system") / kSshHostKeysUnit);
}

TEST_F(SshHostKeys, NoUnitWhenTheTemplateMadeKeysOrSshdOrSystemdIsMissing) {
  plant_keys();
  plant_sshd_and_systemd();
  EXPECT_FALSE(make_ssh_host_keys_at_first_boot(root_)) << "a configuration command made the keys";
  remove_ssh_host_keys(root_);
  fs::remove(root_ / "usr/sbin/sshd");
  EXPECT_FALSE(make_ssh_host_keys_at_first_boot(root_)) << "no SSH server";
  spit(root_ / "usr/sbin/sshd", "");
  fs::remove(root_ / "usr/lib/systemd/systemd");
  EXPECT_FALSE(make_ssh_host_keys_at_first_boot(root_)) << "no systemd";
  EXPECT_FALSE(fs::exists(root_ / "etc/systemd/system" / kSshHostKeysUnit));
}

}  // namespace
}  // namespace stage::installer
