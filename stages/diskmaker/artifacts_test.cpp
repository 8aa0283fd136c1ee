// Artifact names, qemu-img and compressor command lines, temporary files.
#include "stages/diskmaker/artifacts.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

using ::testing::ElementsAre;

TEST(PlanArtifacts, NamesEachFileAfterTypeAndCompression) {
  const auto plans = plan_artifacts("img-1.0", {{"raw", "none"}, {"raw", "zstd"}, {"qcow2", ""}, {"vhd", "xz"}});
  std::vector<std::string> names, temps;
  for (const auto& p : plans) {
    names.push_back(p.final_name);
    temps.push_back(p.temp_name);
  }
  EXPECT_THAT(names, ElementsAre("img-1.0.raw", "img-1.0.raw.zstd", "img-1.0.qcow2", "img-1.0.vhd.xz"));
  EXPECT_THAT(temps, ElementsAre(".img-1.0.raw.partial", ".img-1.0.raw.zstd.partial", ".img-1.0.qcow2.partial",
                                 ".img-1.0.vhd.xz.partial"));
  EXPECT_EQ(disk_temp_name("img-1.0"), ".img-1.0.raw.partial");
}

struct BadPlan {
  const char* why;
  std::string name;
  std::vector<ArtifactSpec> specs;
};

class PlanArtifactsRejects : public ::testing::TestWithParam<BadPlan> {};

TEST_P(PlanArtifactsRejects, AsInvalidInput) {
  try {
    plan_artifacts(GetParam().name, GetParam().specs);
    FAIL() << "accepted: " << GetParam().why;
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << GetParam().why;
  }
}

INSTANTIATE_TEST_SUITE_P(Plans, PlanArtifactsRejects,
                         ::testing::Values(BadPlan{"unknown type", "img", {{"iso", "none"}}},
                                           BadPlan{"unknown compression", "img", {{"raw", "bz2"}}},
                                           BadPlan{"twice", "img", {{"raw", "gz"}, {"raw", "gz"}}},
                                           BadPlan{"none and empty are the same", "img", {{"raw", ""}, {"raw", "none"}}},
                                           BadPlan{"a slash in the name", "a/b", {{"raw", "none"}}},
                                           BadPlan{"a hidden name", ".img", {{"raw", "none"}}},
                                           BadPlan{"nothing listed", "img", {}}));

TEST(ConvertArgv, UsesTheReferenceQcow2Options) {
  EXPECT_THAT(convert_argv("qcow2", "in", "out"),
              ElementsAre("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", "-c", "-S", "4k", "-o",
                          "cluster_size=2M,lazy_refcounts=on", "in", "out"));
  EXPECT_THAT(convert_argv("vhd", "in", "out"),
              ElementsAre("qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "in", "out"));
  EXPECT_THAT(convert_argv("vmdk", "in", "out"),
              ElementsAre("qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "in", "out"));
}

TEST(CompressArgv, IsMultiThreadedInAFormatThatDoesNotDependOnTheThreads) {
  EXPECT_THAT(compress_argv("gz", "f", 3), ElementsAre("pigz", "-n", "-c", "-p", "3", "f"));
  EXPECT_THAT(compress_argv("xz", "f", 3), ElementsAre("xz", "-T3", "-c", "f"));
  EXPECT_THAT(compress_argv("zstd", "f", 3), ElementsAre("zstd", "-T3", "-q", "-c", "f"));
  // One processor: still xz's multi-threaded format, never its single-threaded one.
  EXPECT_THAT(compress_argv("xz", "f", 1), ElementsAre("xz", "-T+1", "-c", "f"));
  EXPECT_THAT(compress_argv("gz", "f", 1), ElementsAre("pigz", "-n", "-c", "-p", "1", "f"));
}

// The compressors as the stage runs them give the same bytes whatever the
// thread count (the argument above is what makes that so for xz).
TEST(CompressArgv, GivesTheSameBytesForOneThreadAndForMany) {
  const auto dir = std::filesystem::temp_directory_path() / ("diskmaker-compress-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string input = (dir / "in").string();
  {
    std::ofstream out(input, std::ios::binary);
    // ~3 MB: many pigz blocks; xz's formats differ from the first block.
    for (unsigned i = 0; i < 400'000; ++i) out << (i * 2654435761u % 1000003u) << (i % 7 ? ' ' : '\n');
  }
  for (const char* compression : {"gz", "xz", "zstd"}) {
    std::string outputs[2];
    for (const unsigned threads : {1u, 2u}) {
      const auto argv = compress_argv(compression, input, threads);
      std::string command;
      for (const auto& a : argv) command += "'" + a + "' ";
      FILE* pipe = ::popen((command + "| sha256sum").c_str(), "r");
      ASSERT_NE(pipe, nullptr);
      char line[128] = {};
      ASSERT_NE(std::fgets(line, sizeof line, pipe), nullptr) << command;
      ASSERT_EQ(::pclose(pipe), 0) << command;
      outputs[threads - 1] = line;
    }
    EXPECT_EQ(outputs[0], outputs[1]) << compression;
  }
  std::filesystem::remove_all(dir);
}

TEST(TempFiles, RemovesWhatItHoldsButNotWhatWasReleased) {
  const auto dir = std::filesystem::temp_directory_path() / ("diskmaker-temps-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  base::UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (const char* name : {"a", "b"}) {
    base::UniqueFd f(::openat(dir_fd.get(), name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_TRUE(f.valid());
  }
  {
    TempFiles temps(dir_fd.get());
    temps.add("a");
    temps.add("b");
    temps.release("b");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "a"));
  EXPECT_TRUE(std::filesystem::exists(dir / "b"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stage::diskmaker
