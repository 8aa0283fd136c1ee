// The writable state of a dm-verity root: the fstab lines it adds, the /etc
// overlay's unit and script, and the copies of /var and /home on /opt.
#include "stages/installer/verity_state.hpp"

#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "base/error.hpp"
#include "stages/installer/test_files.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using stage::installer::testing::slurp;
using stage::installer::testing::spit;
using stage::installer::testing::mode_of;
using ::testing::HasSubstr;
using ::testing::Not;

const FstabLine kRoot{"UUID=r00t", "/", "ext4", "ro", 0, 1};
const FstabLine kEsp{"UUID=ABCD-1234", "/boot/efi", "vfat", "umask=0077", 0, 2};
const FstabLine kOpt{"UUID=0b7", "/opt", "ext4", "defaults", 0, 2};

std::string lines_of(const std::vector<FstabLine>& fstab) { return format_fstab_lines(read_only_root_mounts(fstab)); }

TEST(ReadOnlyRootMounts, WithAnOptPartitionVarAndHomeAreItsCopiesBoundBack) {
  EXPECT_EQ(lines_of({kRoot, kEsp, kOpt}),
            "/opt/var\t/var\tnone\tbind,x-systemd.requires-mounts-for=/opt\t0\t0\n"
            "/opt/home\t/home\tnone\tbind,x-systemd.requires-mounts-for=/opt\t0\t0\n"
            "tmpfs\t/tmp\ttmpfs\tmode=1777\t0\t0\n");
}

TEST(ReadOnlyRootMounts, WithoutOneVarTmpAndTmpAreTmpfs) {
  EXPECT_EQ(lines_of({kRoot, kEsp}),
            "tmpfs\t/var/tmp\ttmpfs\tmode=1777\t0\t0\n"
            "tmpfs\t/tmp\ttmpfs\tmode=1777\t0\t0\n");
}

// A mount point the request mounts itself is writable as it is.
TEST(ReadOnlyRootMounts, LeavesOutWhatTheRequestMounts) {
  const FstabLine var{"UUID=7a2", "/var", "ext4", "defaults", 0, 2};
  const FstabLine tmp{"tmpfs", "/tmp", "tmpfs", "size=1G", 0, 0};
  EXPECT_EQ(lines_of({kRoot, kOpt, var, tmp}),
            "/opt/home\t/home\tnone\tbind,x-systemd.requires-mounts-for=/opt\t0\t0\n");
  EXPECT_EQ(lines_of({kRoot, var}), "tmpfs\t/tmp\ttmpfs\tmode=1777\t0\t0\n");
}

TEST(ReadOnlyRootMounts, TheRequestsVerityTurnsItOn) {
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  EXPECT_FALSE(wants_verity(request.asReader()));
  request.initVerity();
  EXPECT_FALSE(wants_verity(request.asReader())) << "empty UUIDs: no verity";
  request.getVerity().setDataPartUuid("0fc63daf-8483-4772-8e79-3d69d8477de4");
  EXPECT_TRUE(wants_verity(request.asReader()));
}

class VerityStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/verity_state_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "etc");
    spit(root_ / "etc/fstab", "# the OS configuration's\nUUID=r00t\t/\text4\tro\t0\t1\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

TEST_F(VerityStateTest, WithOptTheEtcOverlayIsKeptThereAndFstabGrows) {
  configure_read_only_root(root_, {kRoot, kOpt});
  EXPECT_EQ(slurp(root_ / "etc/fstab"),
            "# the OS configuration's\nUUID=r00t\t/\text4\tro\t0\t1\n"
            "# The read-only dm-verity root's writable state (/etc: setup-overlay.service)\n"
            "/opt/var\t/var\tnone\tbind,x-systemd.requires-mounts-for=/opt\t0\t0\n"
            "/opt/home\t/home\tnone\tbind,x-systemd.requires-mounts-for=/opt\t0\t0\n"
            "tmpfs\t/tmp\ttmpfs\tmode=1777\t0\t0\n");
  for (const char* dir : {"opt/overlay/etc/upper", "opt/overlay/etc/work", "var", "home", "tmp"}) {
    EXPECT_TRUE(fs::is_directory(fs::symlink_status(root_ / dir))) << dir;
  }
  const fs::path script = root_ / "usr/local/bin/setup-overlay.sh";
  EXPECT_EQ(mode_of(script), 0755u);
  EXPECT_THAT(slurp(script), HasSubstr("mount -t overlay overlay -o \"lowerdir=/etc,upperdir=$state/upper,"
                                       "workdir=$state/work\" /etc\n"));
  EXPECT_THAT(slurp(script), HasSubstr("mount --bind /run/machine-id /etc/machine-id"));
  const std::string unit = slurp(root_ / "etc/systemd/system/setup-overlay.service");
  EXPECT_THAT(unit, HasSubstr("DefaultDependencies=no\nRequiresMountsFor=/opt\n"));
  EXPECT_THAT(unit, HasSubstr("Before=local-fs.target "));
  EXPECT_THAT(unit, HasSubstr("ExecStart=/usr/local/bin/setup-overlay.sh /opt/overlay/etc\n"));
  EXPECT_THAT(unit, HasSubstr("WantedBy=local-fs.target\n"));
  const fs::path wanted = root_ / "etc/systemd/system/local-fs.target.wants/setup-overlay.service";
  ASSERT_TRUE(fs::is_symlink(wanted));
  EXPECT_EQ(fs::read_symlink(wanted), "/etc/systemd/system/setup-overlay.service");
}

TEST_F(VerityStateTest, WithoutOptTheEtcOverlayLivesInRun) {
  configure_read_only_root(root_, {kRoot});
  EXPECT_THAT(slurp(root_ / "etc/fstab"), HasSubstr("tmpfs\t/var/tmp\ttmpfs\tmode=1777\t0\t0\n"
                                                    "tmpfs\t/tmp\ttmpfs\tmode=1777\t0\t0\n"));
  EXPECT_THAT(slurp(root_ / "etc/fstab"), Not(HasSubstr("/opt")));
  const std::string unit = slurp(root_ / "etc/systemd/system/setup-overlay.service");
  EXPECT_THAT(unit, HasSubstr("ExecStart=/usr/local/bin/setup-overlay.sh /run/overlay/etc\n"));
  EXPECT_THAT(unit, Not(HasSubstr("RequiresMountsFor")));
  EXPECT_FALSE(fs::exists(root_ / "opt"));
  copy_writable_state(root_, {kRoot});
  EXPECT_FALSE(fs::exists(root_ / "opt")) << "nothing to copy to";
}

// Modes, xattrs and links as links (one pointing out of the tree is copied,
// never followed); the directories themselves keep their modes.
TEST_F(VerityStateTest, CopiesVarAndHomeToOptKeepingWhatTheyAre) {
  spit(root_ / "var/lib/dpkg/status", "Package: dash\n");
  fs::permissions(root_ / "var/lib/dpkg/status", fs::perms(0640));
  const std::string value = "kept";
  ASSERT_EQ(::setxattr((root_ / "var/lib/dpkg/status").c_str(), "user.oic-test", value.data(), value.size(), 0), 0);
  fs::create_symlink("/run", root_ / "var/run");
  fs::create_directories(root_ / "var/tmp");
  fs::permissions(root_ / "var/tmp", fs::perms(01777));
  spit(root_ / "home/ann/.profile", "PS1=x\n");
  fs::permissions(root_ / "home/ann", fs::perms(0700));
  fs::permissions(root_ / "var", fs::perms(0750));
  copy_writable_state(root_, {kRoot, kOpt});
  EXPECT_EQ(slurp(root_ / "opt/var/lib/dpkg/status"), "Package: dash\n");
  EXPECT_EQ(mode_of(root_ / "opt/var/lib/dpkg/status"), 0640u);
  char got[16] = {};
  EXPECT_EQ(::getxattr((root_ / "opt/var/lib/dpkg/status").c_str(), "user.oic-test", got, sizeof got), 4);
  EXPECT_EQ(std::string(got), "kept");
  ASSERT_TRUE(fs::is_symlink(root_ / "opt/var/run"));
  EXPECT_EQ(fs::read_symlink(root_ / "opt/var/run"), "/run");
  EXPECT_EQ(mode_of(root_ / "opt/var/tmp"), 01777u);
  EXPECT_EQ(mode_of(root_ / "opt/var"), 0750u);
  EXPECT_EQ(mode_of(root_ / "opt/home/ann"), 0700u);
  EXPECT_EQ(slurp(root_ / "opt/home/ann/.profile"), "PS1=x\n");
  EXPECT_EQ(slurp(root_ / "var/lib/dpkg/status"), "Package: dash\n") << "the root keeps its own";
}

TEST_F(VerityStateTest, CopiesOnlyWhatTheRequestDoesNotMount) {
  fs::create_directories(root_ / "var/lib");
  fs::create_directories(root_ / "home/ann");
  copy_writable_state(root_, {kRoot, kOpt, {"UUID=h0", "/home", "ext4", "defaults", 0, 2}});
  EXPECT_TRUE(fs::is_directory(root_ / "opt/var/lib"));
  EXPECT_FALSE(fs::exists(root_ / "opt/home"));
}

TEST_F(VerityStateTest, RefusesALinkOutOfTheTree) {
  char tmpl[] = "/tmp/verity_state_outside.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path outside = tmpl;
  spit(outside / "secret", "host file");
  fs::create_symlink(outside, root_ / "var");
  try {
    copy_writable_state(root_, {kRoot, kOpt});
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.what(), HasSubstr("'/var' of the image is a symbolic link"));
  }
  EXPECT_FALSE(fs::exists(root_ / "opt/var"));
  fs::remove_all(outside);
}

// The emt3 default's configuration makes /opt/var/lib/sshd: what the
// configuration made below /opt/var stays and /var is merged into it.
TEST_F(VerityStateTest, MergesIntoDirectoriesTheConfigurationMade) {
  spit(root_ / "var/lib/dpkg/status", "Package: dash\n");
  fs::create_directories(root_ / "opt/var/lib/sshd");
  spit(root_ / "opt/var/lib/sshd/state", "the template's\n");
  copy_writable_state(root_, {kRoot, kOpt});
  EXPECT_EQ(slurp(root_ / "opt/var/lib/dpkg/status"), "Package: dash\n");
  EXPECT_EQ(slurp(root_ / "opt/var/lib/sshd/state"), "the template's\n");
}

// Where a path is in both and is not a directory in both, `cp` would
// overwrite the configuration's file or write through its link (out of
// the tree): refused, naming it, nothing copied.
TEST_F(VerityStateTest, RefusesToMergeOverAFileOrALinkTheConfigurationMade) {
  char tmpl[] = "/tmp/verity_state_outside.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path outside = tmpl;
  spit(root_ / "var/lib/dpkg/status", "Package: dash\n");
  struct Case {
    const char* why;
    std::function<void()> make;
    const char* named;
  } cases[] = {
      {"a file over a file", [&] { spit(root_ / "opt/var/lib/dpkg/status", "mine\n"); }, "'/opt/var/lib/dpkg/status'"},
      {"a link over a directory", [&] { fs::create_directories(root_ / "opt/var/lib");
                                        fs::create_symlink(outside, root_ / "opt/var/lib/dpkg"); }, "'/opt/var/lib/dpkg'"},
      {"a file over /var", [&] { spit(root_ / "opt/var", "not a directory\n"); }, "'/opt/var', and it is not a directory"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    fs::remove_all(root_ / "opt");
    c.make();
    try {
      copy_writable_state(root_, {kRoot, kOpt});
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_THAT(e.what(), HasSubstr(c.named));
    }
    EXPECT_TRUE(fs::is_empty(outside)) << "nothing written through the link";
  }
  EXPECT_EQ(slurp(root_ / "opt/var"), "not a directory\n");
  fs::remove_all(outside);
}

}  // namespace
}  // namespace stage::installer
