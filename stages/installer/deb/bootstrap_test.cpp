// plan_batches, the essential closure and the extraction of .deb data: small
// packages are made at test time, with dpkg-deb where it can make them and
// with libarchive for members dpkg-deb refuses to write (devices, "..").
#include "stages/installer/deb/bootstrap.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;

std::vector<std::vector<std::string>> names_of(const std::vector<Batch>& batches,
                                               const std::vector<PlanInput>& packages) {
  std::vector<std::vector<std::string>> out;
  for (const Batch& b : batches) {
    std::vector<std::string> names;
    for (std::size_t i : b.packages) names.push_back(packages[i].name);
    out.push_back(names);
  }
  return out;
}

using Names = std::vector<std::vector<std::string>>;

TEST(PlanBatches, PutsTheEssentialSetFirstAsOneBatchWhateverItsPosition) {
  const std::vector<PlanInput> packages = {
      {"libfoo", false, {}}, {"base-files", true, {}}, {"tool", false, {"libfoo"}}, {"dpkg", true, {"libfoo"}}};
  const std::vector<Batch> batches = plan_batches(packages);
  EXPECT_EQ(names_of(batches, packages), (Names{{"base-files", "dpkg"}, {"libfoo"}, {"tool"}}));
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_TRUE(batches[0].essential);
  EXPECT_FALSE(batches[1].essential);
}

TEST(PlanBatches, KeepsPackagesWithoutPreDependsInOneCall) {
  const std::vector<PlanInput> packages = {{"a", false, {}}, {"b", false, {"a-missing"}}, {"c", false, {}}};
  EXPECT_EQ(names_of(plan_batches(packages), packages), (Names{{"a", "b", "c"}}));
}

TEST(PlanBatches, StartsANewCallForEveryLinkOfAPreDependsChain) {
  const std::vector<PlanInput> packages = {
      {"a", false, {}}, {"x", false, {}}, {"b", false, {"a"}}, {"y", false, {}}, {"c", false, {"b"}}};
  EXPECT_EQ(names_of(plan_batches(packages), packages), (Names{{"a", "x"}, {"b", "y"}, {"c"}}));
}

TEST(PlanBatches, PreDependsOnEssentialOrEarlierBatchesDoNotSplit) {
  const std::vector<PlanInput> packages = {
      {"libc6", true, {}}, {"a", false, {"libc6"}}, {"b", false, {}}, {"c", false, {"a"}}, {"d", false, {"libc6", "a"}}};
  EXPECT_EQ(names_of(plan_batches(packages), packages), (Names{{"libc6"}, {"a", "b"}, {"c", "d"}}));
}

TEST(PlanBatches, ReportsAPreDependsCycleWithItsPath) {
  const std::vector<PlanInput> packages = {{"a", false, {"c"}}, {"b", false, {"a"}}, {"c", false, {"b"}}};
  try {
    plan_batches(packages);
    FAIL() << "a cycle was accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("cycle a -> c -> b -> a"), std::string::npos) << e.message();
  }
}

TEST(PlanBatches, ReportsAPreDependencyPlacedLaterInTheOrder) {
  const std::vector<PlanInput> packages = {{"a", false, {"b"}}, {"b", false, {}}};
  try {
    plan_batches(packages);
    FAIL() << "a later pre-dependency was accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(e.message().find("'a' pre-depends on 'b', which comes later"), std::string::npos) << e.message();
  }
}

TEST(EssentialClosure, FollowsDependsAlternativesAndProvidesWithinTheSet) {
  std::vector<DebControl> controls(6);
  controls[0] = {"bash", "", "", {{"libc6"}, {"debianutils"}}, {}};
  controls[1] = {"libc6", "", "", {{"libgcc-s1"}}, {}};
  controls[2] = {"libgcc-s1", "", "", {}, {}};
  controls[3] = {"mawk", "", "", {}, {"awk"}};
  controls[4] = {"base-files", "", "", {{"gawk", "awk"}}, {}};
  controls[5] = {"openssh-server", "", "", {{"libc6"}}, {}};
  const std::vector<bool> essential = {true, false, false, false, true, false};
  EXPECT_EQ(essential_closure(controls, essential), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

// ---- extraction ----

int run(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class DebExtraction : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "oic-deb-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "root");
  }
  void TearDown() override { fs::remove_all(dir_); }

  base::UniqueFd open_file(const fs::path& path) { return base::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); }

  // A .deb of one data.tar made by libarchive: `members` are (name, type) pairs.
  fs::path crafted_deb(const std::vector<std::pair<std::string, mode_t>>& members) {
    const fs::path out = dir_ / "crafted.deb";
    std::string data_tar = tar_of(members);
    std::string control_tar = tar_of({{"./control", AE_IFREG}});
    archive* ar = archive_write_new();
    archive_write_set_format_ar_svr4(ar);
    archive_write_open_filename(ar, out.c_str());
    add_member(ar, "debian-binary", "2.0\n");
    add_member(ar, "control.tar", control_tar);
    add_member(ar, "data.tar", data_tar);
    archive_write_close(ar);
    archive_write_free(ar);
    return out;
  }

  static std::string tar_of(const std::vector<std::pair<std::string, mode_t>>& members) {
    std::vector<char> buffer(1 << 20);
    size_t used = 0;
    archive* tar = archive_write_new();
    archive_write_set_format_gnutar(tar);
    archive_write_open_memory(tar, buffer.data(), buffer.size(), &used);
    for (const auto& [name, type] : members) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, name.c_str());
      archive_entry_set_filetype(e, type);
      archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
      archive_entry_set_uid(e, ::geteuid());  // owners the test may set without privileges
      archive_entry_set_gid(e, ::getegid());
      const std::string body = "Package: crafted\nVersion: 1\nArchitecture: all\n";
      if (type == AE_IFREG) archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
      if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
      archive_write_header(tar, e);
      if (type == AE_IFREG) archive_write_data(tar, body.data(), body.size());
      archive_entry_free(e);
    }
    archive_write_close(tar);
    archive_write_free(tar);
    return std::string(buffer.data(), used);
  }

  static void add_member(archive* ar, const std::string& name, const std::string& body) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
    archive_write_header(ar, e);
    archive_write_data(ar, body.data(), body.size());
    archive_entry_free(e);
  }

  fs::path dir_;
};

TEST_F(DebExtraction, KeepsOwnersSetuidSymlinksAndHardlinksOfADpkgDebPackage) {
  const fs::path pkg = dir_ / "pkg";
  fs::create_directories(pkg / "DEBIAN");
  fs::create_directories(pkg / "usr/bin");
  std::ofstream(pkg / "DEBIAN/control") << "Package: demo\nVersion: 1.0\nArchitecture: all\n"
                                        << "Maintainer: Test <test@example.org>\nDescription: demo\n"
                                        << "Pre-Depends: libc6 (>= 2.36)\nDepends: awk | mawk, base-files\n"
                                        << "Provides: demo-tool\n";
  std::ofstream(pkg / "usr/bin/tool") << "#!/bin/sh\necho tool\n";
  ASSERT_EQ(::chmod((pkg / "usr/bin/tool").c_str(), 04755), 0);
  fs::create_symlink("tool", pkg / "usr/bin/link");
  fs::create_hard_link(pkg / "usr/bin/tool", pkg / "usr/bin/hard");
  // As root the owners can be anything: pick ones no default would give.
  const bool root = ::geteuid() == 0;
  const uid_t uid = root ? 1234 : ::geteuid();
  const gid_t gid = root ? 42 : ::getegid();
  if (root) {
    ASSERT_EQ(::lchown((pkg / "usr/bin/tool").c_str(), uid, gid), 0);
    ASSERT_EQ(::chmod((pkg / "usr/bin/tool").c_str(), 04755), 0);  // chown cleared it
  }
  ASSERT_EQ(run({"/usr/bin/dpkg-deb", "--build", "-Zxz", pkg.string(), (dir_ / "demo.deb").string()}), 0);

  base::UniqueFd fd = open_file(dir_ / "demo.deb");
  const DebControl control = read_deb_control(fd.get(), "demo");
  EXPECT_EQ(control.package, "demo");
  EXPECT_EQ(control.depends, (std::vector<std::vector<std::string>>{{"libc6"}, {"awk", "mawk"}, {"base-files"}}));
  EXPECT_EQ(control.provides, (std::vector<std::string>{"demo-tool"}));

  const ExtractStats stats = extract_deb_data(fd.get(), dir_ / "root", "demo");
  EXPECT_EQ(stats.skipped_devices, 0u);
  struct stat tool {}, hard {}, link {};
  ASSERT_EQ(::lstat((dir_ / "root/usr/bin/tool").c_str(), &tool), 0);
  ASSERT_EQ(::lstat((dir_ / "root/usr/bin/hard").c_str(), &hard), 0);
  ASSERT_EQ(::lstat((dir_ / "root/usr/bin/link").c_str(), &link), 0);
  EXPECT_EQ(tool.st_mode & 07777, 04755u);
  EXPECT_EQ(tool.st_uid, uid);
  EXPECT_EQ(tool.st_gid, gid);
  EXPECT_EQ(tool.st_ino, hard.st_ino);
  EXPECT_TRUE(S_ISLNK(link.st_mode));
  EXPECT_EQ(fs::read_symlink(dir_ / "root/usr/bin/link"), "tool");
}

TEST_F(DebExtraction, SkipsDeviceNodesAndExtractsTheRest) {
  const fs::path deb = crafted_deb({{"./dev/", AE_IFDIR}, {"./dev/null", AE_IFCHR}, {"./etc/", AE_IFDIR},
                                    {"./etc/file", AE_IFREG}});
  base::UniqueFd fd = open_file(deb);
  const ExtractStats stats = extract_deb_data(fd.get(), dir_ / "root", "crafted");
  EXPECT_EQ(stats.skipped_devices, 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ / "root/dev/null")));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "root/etc/file"));
}

TEST_F(DebExtraction, RefusesMembersThatLeaveTheRoot) {
  for (const std::string name : {"./../escaped", "./etc/../../escaped", "/escaped"}) {
    SCOPED_TRACE(name);
    const fs::path deb = crafted_deb({{"./etc/", AE_IFDIR}, {name, AE_IFREG}});
    base::UniqueFd fd = open_file(deb);
    try {
      extract_deb_data(fd.get(), dir_ / "root", "crafted");
      FAIL() << "extracted " << name;
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find("absolute or contains '..'"), std::string::npos) << e.message();
    }
    EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  }
}

}  // namespace
}  // namespace stage::installer
