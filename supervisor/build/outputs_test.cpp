#include "supervisor/build/outputs.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

using TempDir = ::tests::TempDir;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// sha256("abc") and sha256("") from FIPS 180-2.
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Outputs, OutputDirectoryFollowsTheReferenceLayout) {
  EXPECT_EQ(image_output_dir("/w", "debian-debian12-x86_64", "Default_Raw"),
            fs::path("/w/debian-debian12-x86_64/imagebuild/Default_Raw"));
  EXPECT_THROW(image_output_dir("/w", "p", "../escape"), base::Error);
}

TEST(Outputs, HashesFiles) {
  TempDir dir;
  write(dir.path() / "abc", "abc");
  write(dir.path() / "empty", "");
  EXPECT_EQ(sha256_of_file(dir.path() / "abc"), kAbc);
  EXPECT_EQ(sha256_of_file(dir.path() / "empty"), kEmpty);
}

TEST(Outputs, PublishMovesFilesAndWritesSortedSums) {
  TempDir dir;
  const fs::path out = dir.path() / "work" / "out";
  write(out / "img.raw", "abc");
  write(out / "img.lock.json", "");
  const fs::path final_dir = dir.path() / "imagebuild" / "sys";
  const auto published = publish_outputs(final_dir, {{out / "img.raw", "img.raw", ""},
                                                     {out / "img.lock.json", "img.lock.json", ""}});
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].path, final_dir / "img.raw");
  EXPECT_EQ(published[0].size, 3u);
  EXPECT_FALSE(fs::exists(out / "img.raw")) << "moved, not copied";
  EXPECT_EQ(read(final_dir / "img.raw"), "abc");
  EXPECT_EQ(read(final_dir / kChecksumFile),
            std::string(kEmpty) + "  img.lock.json\n" + kAbc + "  img.raw\n");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(final_dir)) ++entries;
  EXPECT_EQ(entries, 3u) << "no temporary files left";
}

TEST(Outputs, PublishReplacesAnEarlierBuildsFiles) {
  TempDir dir;
  const fs::path final_dir = dir.path() / "final";
  write(final_dir / "img.raw", "old image");
  write(final_dir / kChecksumFile, "old sums\n");
  write(dir.path() / "out" / "img.raw", "abc");
  publish_outputs(final_dir, {{dir.path() / "out" / "img.raw", "img.raw", ""}});
  EXPECT_EQ(read(final_dir / "img.raw"), "abc");
  EXPECT_EQ(read(final_dir / kChecksumFile), std::string(kAbc) + "  img.raw\n");
}

TEST(Outputs, PublishHashesItselfAndRefusesAForgedHashOrSize) {
  TempDir dir;
  write(dir.path() / "out" / "a.qcow2", "abc");
  try {
    publish_outputs(dir.path() / "final", {{dir.path() / "out" / "a.qcow2", "a.qcow2", kEmpty}});
    FAIL() << "a forged sha256 was published";
  } catch (const base::Error& e) {
    EXPECT_NE(e.message().find("a.qcow2"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find(std::string("reported sha256 ") + kEmpty + ", the file has " + kAbc),
              std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.path() / "final" / "a.qcow2"));
  write(dir.path() / "out" / "b.raw", "abc");
  EXPECT_THROW(publish_outputs(dir.path() / "final", {{dir.path() / "out" / "b.raw", "b.raw", kAbc, 4}}), base::Error);
  write(dir.path() / "out" / "c.raw", "abc");
  const auto published = publish_outputs(dir.path() / "final", {{dir.path() / "out" / "c.raw", "c.raw", kAbc, 3}});
  EXPECT_EQ(published[0].sha256, kAbc);
}

// What a stage could plant in its output directory, named like an output.
TEST(Outputs, PublishRefusesASymlinkAndLeavesItsTargetAlone) {
  TempDir dir;
  const fs::path secret = dir.path() / "home" / "id_rsa";
  write(secret, "private key");
  fs::create_directories(dir.path() / "out");
  fs::create_symlink(secret, dir.path() / "out" / "img.raw");
  try {
    publish_outputs(dir.path() / "final", {{dir.path() / "out" / "img.raw", "img.raw", ""}});
    FAIL() << "a symlink was published";
  } catch (const base::Error& e) {
    EXPECT_NE(e.message().find("img.raw': it is a symbolic link"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.path() / "final" / "img.raw"));
  EXPECT_EQ(read(secret), "private key");
}

TEST(Outputs, PublishRefusesAHardLinkAndAFifo) {
  TempDir dir;
  write(dir.path() / "elsewhere", "shared inode");
  fs::create_directories(dir.path() / "out");
  fs::create_hard_link(dir.path() / "elsewhere", dir.path() / "out" / "img.raw");
  try {
    publish_outputs(dir.path() / "final", {{dir.path() / "out" / "img.raw", "img.raw", ""}});
    FAIL() << "a file with two names was published";
  } catch (const base::Error& e) {
    EXPECT_NE(e.message().find("img.raw': it has another name"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::mkfifo((dir.path() / "out" / "img.vhd").c_str(), 0600), 0);
  EXPECT_THROW(publish_outputs(dir.path() / "final", {{dir.path() / "out" / "img.vhd", "img.vhd", ""}}), base::Error);
}

TEST(Outputs, PublishRefusesAnOutputDirectoryReplacedByASymlink) {
  TempDir dir;
  write(dir.path() / "home" / "img.raw", "the user's file");
  fs::create_directories(dir.path() / "work");
  fs::create_directory_symlink(dir.path() / "home", dir.path() / "work" / "out");
  EXPECT_THROW(publish_outputs(dir.path() / "final", {{dir.path() / "work" / "out" / "img.raw", "img.raw", ""}}),
               base::Error);
  EXPECT_EQ(read(dir.path() / "home" / "img.raw"), "the user's file");
}

TEST(Outputs, PublishWritesTheSupervisorsOwnFilesWithoutFollowingALink) {
  TempDir dir;
  const fs::path final_dir = dir.path() / "final";
  write(dir.path() / "victim", "untouched");
  fs::create_directories(final_dir);
  const std::string temp = ".img.lock.json.tmp-" + std::to_string(::getpid());
  fs::create_symlink(dir.path() / "victim", final_dir / temp);
  const auto published = publish_outputs(final_dir, {{{}, "img.lock.json", "", std::nullopt, std::string("{}\n")}});
  EXPECT_EQ(read(final_dir / "img.lock.json"), "{}\n");
  EXPECT_EQ(published[0].size, 3u);
  EXPECT_EQ(read(dir.path() / "victim"), "untouched");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(final_dir / "img.lock.json")));
}

TEST(Outputs, PublishKeepsTheOldFilesWhenASourceIsMissing) {
  TempDir dir;
  const fs::path final_dir = dir.path() / "final";
  write(final_dir / "a.raw", "old");
  write(dir.path() / "out" / "a.raw", "new");
  EXPECT_THROW(publish_outputs(final_dir, {{dir.path() / "out" / "a.raw", "a.raw", ""},
                                           {dir.path() / "out" / "missing", "b.json", ""}}),
               base::Error);
  EXPECT_EQ(read(final_dir / "a.raw"), "old");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(final_dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "temporary files are removed";
}

const NamingFacts kFacts{.own_base = "edge-1.2.0",
                         .image_name = "edge",
                         .os_version = "12",
                         .package_type = "deb",
                         .sbom_time = 1767323045};  // 2026-01-02 03:04:05 UTC

TEST(OutputNames, OwnSchemeKeepsEveryName) {
  for (const char* name : {"edge-1.2.0.raw.gz", "edge-1.2.0.spdx.json", "edge-1.2.0.lock.json", "vmlinuz-6.1"}) {
    EXPECT_EQ(published_name(OutputNaming::kOwn, name, kFacts), name);
  }
}

TEST(OutputNames, ReferenceSchemeUsesTheOsVersionAndSpdxManifestNames) {
  const auto named = [](const std::string& name) { return published_name(OutputNaming::kReference, name, kFacts); };
  EXPECT_EQ(named("edge-1.2.0.raw"), "edge-12.raw");
  EXPECT_EQ(named("edge-1.2.0.raw.zstd"), "edge-12.raw.zstd");
  EXPECT_EQ(named("edge-1.2.0.qcow2"), "edge-12.qcow2");
  EXPECT_EQ(named("edge-1.2.0.iso"), "edge-12.iso");
  EXPECT_EQ(named("edge-1.2.0.img"), "edge-12.img");
  EXPECT_EQ(named("edge-1.2.0.lock.json"), "edge-12.lock.json");
  EXPECT_EQ(named("edge-1.2.0.live.lock.json"), "edge-12.live.lock.json");
  EXPECT_EQ(named("edge-1.2.0.spdx.json"), "spdx_manifest_deb_edge_20260102_030405.json");
  // Not made from the base name: kept (an initrd's kernel, a name that only starts alike).
  EXPECT_EQ(named("vmlinuz-6.1.0-amd64"), "vmlinuz-6.1.0-amd64");
  EXPECT_EQ(named("edge-1.2.0x.raw"), "edge-1.2.0x.raw");
  NamingFacts rpm = kFacts;
  rpm.package_type = "rpm";
  EXPECT_EQ(published_name(OutputNaming::kReference, "edge-1.2.0.spdx.json", rpm),
            "spdx_manifest_rpm_edge_20260102_030405.json");
}

TEST(OutputNames, ParsesTheTwoSchemeNames) {
  EXPECT_EQ(parse_output_naming("own"), OutputNaming::kOwn);
  EXPECT_EQ(parse_output_naming("reference"), OutputNaming::kReference);
  EXPECT_FALSE(parse_output_naming("Reference").has_value());
  EXPECT_FALSE(parse_output_naming("").has_value());
}

// Outputs published under one scheme are not handed back to a build asking for the other.
TEST(OutputNames, TellsWhichSchemeNamedAnEarlierBuild) {
  const std::vector<std::string> own = {"edge-1.2.0.raw", "edge-1.2.0.spdx.json", "edge-1.2.0.lock.json"};
  const std::vector<std::string> reference = {"edge-12.raw", "spdx_manifest_deb_edge_20250101_000000.json",
                                              "edge-12.lock.json"};
  EXPECT_TRUE(named_by(OutputNaming::kOwn, own, kFacts));
  EXPECT_FALSE(named_by(OutputNaming::kReference, own, kFacts));
  EXPECT_TRUE(named_by(OutputNaming::kReference, reference, kFacts));
  EXPECT_FALSE(named_by(OutputNaming::kOwn, reference, kFacts));
  // The OS version equal to image.version: only the SBOM tells them apart.
  NamingFacts same = kFacts;
  same.os_version = "1.2.0";
  const std::vector<std::string> same_reference = {"edge-1.2.0.raw", "spdx_manifest_deb_edge_20250101_000000.json",
                                                   "edge-1.2.0.lock.json"};
  EXPECT_TRUE(named_by(OutputNaming::kOwn, own, same));
  EXPECT_FALSE(named_by(OutputNaming::kReference, own, same));
  EXPECT_FALSE(named_by(OutputNaming::kOwn, same_reference, same));
  EXPECT_TRUE(named_by(OutputNaming::kReference, same_reference, same));
}

TEST(Outputs, HumanSizes) {
  EXPECT_EQ(human_size(512), "512 B");
  EXPECT_EQ(human_size(3ull << 30), "3.0 GiB");
  EXPECT_EQ(human_size(1536), "1.5 KiB");
}

}  // namespace
}  // namespace supervisor
