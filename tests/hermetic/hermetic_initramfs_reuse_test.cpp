// The initramfs of an identical configured tree is made once: on the
// hermetic repository with every real stage, a first build makes it with the
// target's update-initramfs and the supervisor keeps it under the tree's key;
// a rebuild of the same template copies the kept one (the test changes its
// bytes in the store, so the image shows where its initramfs came from), and
// so does one that installs without the saved build environment; a template
// that changes the tree (another hostname) makes a new one.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/hermetic/installable_defaults.hpp"
#include "tests/image/disk_inspect.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::hermetic {
namespace {

namespace fs = std::filesystem;
using repo::RepoWorld;

constexpr const char* kMade = "placeholder initramfs for 6.1.0-oic\n";  // the fixture's update-initramfs
constexpr const char* kKept = "the kept initramfs of an identical tree\n";
constexpr const char* kReused = "Reused the initramfs made for an identical tree";

class HermeticInitramfsReuse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = std::make_unique<RepoWorld>(std::vector<std::string>{"--installable"},
                                         std::vector<std::string>{"owners"});
    repo::write_file(world_->default_raw_template(), kInstallableDefaults);
    first_ = world_->full_cli({"build", world_->template_path().string()});
    if (first_.exit_code != 0) return;
    stored_ = kept_files();
    first_initrd_ = esp_initrd();
    if (stored_.size() != 1) return;
    repo::write_file(stored_.front(), kKept);
    rebuilt_ = world_->full_cli({"build", world_->template_path().string(), "--rebuild"});
    if (rebuilt_.exit_code != 0) return;
    rebuilt_initrd_ = esp_initrd();
    // Without the saved build environment (its provider's saves removed,
    // the kept initramfs images stay) the build installs cold: the same
    // tree, so it copies the kept initramfs too.
    cleaned_ = world_->full_cli({"cache", "clean", "--workspace", "--provider-id", "debian-debian12-x86_64"});
    if (cleaned_.exit_code != 0) return;
    cold_ = world_->full_cli({"build", world_->template_path().string(), "--rebuild"});
    if (cold_.exit_code != 0) return;
    cold_initrd_ = esp_initrd();
    cold_kept_ = kept_files().size();
    repo::write_file(world_->template_path(), repo::slurp(world_->template_path()) + "  hostname: oic-other\n");
    changed_ = world_->full_cli({"build", world_->template_path().string()});
    if (changed_.exit_code == 0) changed_initrd_ = esp_initrd();
  }
  static void TearDownTestSuite() { world_.reset(); }

  // The kept initramfs images (their <key>.touched lists left out).
  static std::vector<fs::path> kept_files() {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(world_->cache_dir() / "initramfs", ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() != ".touched") files.push_back(it->path());
    }
    return files;
  }

  static std::string esp_initrd() {
    const fs::path disk = world_->root() / "work/debian-debian12-x86_64/imagebuild/repo-test/repo-test-1.0.0.raw";
    const auto partitions = image::read_partition_table(disk, world_->root() / "scratch");
    if (partitions.empty()) return "no partitions";
    image::FatReader esp(disk, partitions[0].offset, world_->root() / "scratch/fat");
    return esp.read_file("/oictest/initrd.img-6.1.0-oic").value_or("no initramfs on the ESP");
  }

  static inline std::unique_ptr<RepoWorld> world_;
  static inline repo::CliResult first_, rebuilt_, cleaned_, cold_, changed_;
  static inline std::vector<fs::path> stored_;
  static inline std::size_t cold_kept_ = 0;
  static inline std::string first_initrd_, rebuilt_initrd_, cold_initrd_, changed_initrd_;
};

TEST_F(HermeticInitramfsReuse, TheFirstBuildMakesTheInitramfsAndKeepsIt) {
  ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
  EXPECT_EQ(first_initrd_, kMade);
  EXPECT_EQ((first_.out + first_.err).find(kReused), std::string::npos) << first_.err;
  ASSERT_EQ(stored_.size(), 1u) << "the store holds one initramfs per key";
  EXPECT_EQ(stored_.front().filename().string().size(), 64u) << stored_.front();
}

TEST_F(HermeticInitramfsReuse, ARebuildOfTheSameTemplateCopiesTheKeptInitramfs) {
  ASSERT_EQ(rebuilt_.exit_code, 0) << rebuilt_.out << rebuilt_.err;
  EXPECT_NE((rebuilt_.out + rebuilt_.err).find(kReused), std::string::npos) << rebuilt_.err;
  EXPECT_EQ(rebuilt_initrd_, kKept) << "the rebuild's initramfs is not the kept one";
}

// A cold install and a copied build environment configure the same tree:
// the package tools' logs, whose times differ, are gone before its key is
// taken.
TEST_F(HermeticInitramfsReuse, AColdInstallOfTheSameTemplateCopiesTheKeptInitramfs) {
  ASSERT_EQ(cleaned_.exit_code, 0) << cleaned_.out << cleaned_.err;
  ASSERT_EQ(cold_.exit_code, 0) << cold_.out << cold_.err;
  const std::string log = cold_.out + cold_.err;
  EXPECT_NE(log.find("Installed the build environment"), std::string::npos) << "a cold install: " << log;
  EXPECT_NE(log.find(kReused), std::string::npos) << log;
  EXPECT_EQ(cold_initrd_, kKept);
  EXPECT_EQ(cold_kept_, 1u) << "no new key";
}

TEST_F(HermeticInitramfsReuse, ATemplateThatChangesTheTreeMakesANewOne) {
  ASSERT_EQ(changed_.exit_code, 0) << changed_.out << changed_.err;
  EXPECT_EQ((changed_.out + changed_.err).find(kReused), std::string::npos) << changed_.err;
  EXPECT_EQ(changed_initrd_, kMade);
  EXPECT_EQ(kept_files().size(), 2u);
}

}  // namespace
}  // namespace tests::hermetic
