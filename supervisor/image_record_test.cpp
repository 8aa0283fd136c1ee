#include "supervisor/image_record.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::tests::TempDir;

// Inputs whose files live in `dir`: one additional file, two programs.
ImageInputs sample_inputs(const TempDir& dir) {
  return ImageInputs{.provider_id = "debian-debian12-x86_64",
                     .merged_template = "image:\n  name: demo\n",
                     .lockfile = "{\"packages\": []}\n",
                     .host_files = {dir.write("files/motd", "hello\n")},
                     .programs = {dir.write("bin/os-image-composer", "cli v1"),
                                  dir.write("bin/stage-installer", "installer v1")}};
}

// Publishes two files into `out` as a build would, with their record.
std::vector<PublishedFile> publish_sample(const TempDir& dir, const fs::path& out, const InputDigest& digest) {
  const std::vector<OutputFile> files = {{dir.write("work/demo.raw", std::string(4096, '\0') + "disk"), "demo.raw", ""},
                                         {dir.write("work/demo.lock.json", "{}"), "demo.lock.json", ""}};
  remove_build_record(out);
  std::vector<PublishedFile> published = publish_outputs(out, files);
  write_build_record(out, digest, published);
  return published;
}

TEST(ImageRecord, EqualInputsGiveEqualKeysAndEveryKindOfInputChangesTheKey) {
  TempDir dir("oic-image-record");
  const ImageInputs inputs = sample_inputs(dir);
  const InputDigest base = digest_image_inputs(inputs);
  EXPECT_EQ(base.key.size(), 64u);
  EXPECT_EQ(digest_image_inputs(inputs).key, base.key);

  auto changed_part = [&](const ImageInputs& other) {
    const InputDigest d = digest_image_inputs(other);
    std::string parts;
    for (const auto& [part, value] : d.parts) {
      if (base.parts.at(part) != value) parts += part + " ";
    }
    return d.key == base.key ? std::string("(same key)") : parts;
  };
  ImageInputs other = inputs;
  other.merged_template += "  version: 2\n";
  EXPECT_EQ(changed_part(other), "template ");
  other = inputs;
  other.provider_id = "elxr-elxr12-x86_64";
  EXPECT_EQ(changed_part(other), "template ");
  other = inputs;
  other.lockfile = "{\"packages\": [1]}\n";
  EXPECT_EQ(changed_part(other), "packages ");
  dir.write("files/motd", "hello again\n");
  EXPECT_EQ(changed_part(inputs), "files ");
  dir.write("files/motd", "hello\n");
  dir.write("bin/stage-installer", "installer v2");
  EXPECT_EQ(changed_part(inputs), "programs ");
  dir.write("bin/stage-installer", "installer v1");
  fs::remove(dir.path() / "files/motd");
  EXPECT_EQ(changed_part(inputs), "files ") << "a file that cannot be read must not match the one that could";
}

TEST(ImageRecord, OutputsOfTheSameInputsAreUpToDateWithTheirPublishedFiles) {
  TempDir dir("oic-image-record");
  const InputDigest digest = digest_image_inputs(sample_inputs(dir));
  const fs::path out = dir.path() / "out";
  const std::vector<PublishedFile> published = publish_sample(dir, out, digest);
  const OutputsCheck check = check_outputs(out, digest);
  ASSERT_TRUE(check.up_to_date) << check.reason;
  ASSERT_EQ(check.files.size(), published.size());
  for (std::size_t i = 0; i < published.size(); ++i) {
    EXPECT_EQ(check.files[i].path, published[i].path);
    EXPECT_EQ(check.files[i].sha256, published[i].sha256);
    EXPECT_EQ(check.files[i].size, published[i].size);
  }
}

TEST(ImageRecord, ChangedInputsNameWhatChanged) {
  TempDir dir("oic-image-record");
  ImageInputs inputs = sample_inputs(dir);
  const fs::path out = dir.path() / "out";
  publish_sample(dir, out, digest_image_inputs(inputs));
  inputs.lockfile = "{\"packages\": [2]}\n";
  dir.write("files/motd", "changed\n");
  const OutputsCheck check = check_outputs(out, digest_image_inputs(inputs));
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "an additional file changed, the package set changed");
}

TEST(ImageRecord, AnOutputChangedAfterTheBuildIsNotUpToDateEvenWithItsSizeAndNameKept) {
  TempDir dir("oic-image-record");
  const InputDigest digest = digest_image_inputs(sample_inputs(dir));
  const fs::path out = dir.path() / "out";
  publish_sample(dir, out, digest);
  // What booting the image without a snapshot does: bytes change in place.
  {
    std::fstream raw(out / "demo.raw", std::ios::in | std::ios::out | std::ios::binary);
    raw.seekp(10);
    raw.put('X');
  }
  OutputsCheck check = check_outputs(out, digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "demo.raw changed since it was built");

  publish_sample(dir, out, digest);
  fs::remove(out / "demo.lock.json");
  check = check_outputs(out, digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "demo.lock.json is missing");
}

TEST(ImageRecord, SettingTheModificationTimeBackDoesNotHideAChange) {
  TempDir dir("oic-image-record");
  const InputDigest digest = digest_image_inputs(sample_inputs(dir));
  const fs::path out = dir.path() / "out";
  publish_sample(dir, out, digest);
  struct stat before {};
  ASSERT_EQ(::stat((out / "demo.raw").c_str(), &before), 0);
  {
    std::fstream raw(out / "demo.raw", std::ios::in | std::ios::out | std::ios::binary);
    raw.seekp(20);
    raw.put('Y');
  }
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (out / "demo.raw").c_str(), times, 0), 0);
  const OutputsCheck check = check_outputs(out, digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "demo.raw changed since it was built");
}

TEST(ImageRecord, EditedChecksumsOrRecordMeanARebuild) {
  TempDir dir("oic-image-record");
  const InputDigest digest = digest_image_inputs(sample_inputs(dir));
  const fs::path out = dir.path() / "out";
  publish_sample(dir, out, digest);
  dir.write("out/SHA256SUMS", "0000  demo.raw\n");
  OutputsCheck check = check_outputs(out, digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "SHA256SUMS does not list the recorded files");

  publish_sample(dir, out, digest);
  dir.write(fs::path("out") / kBuildRecordFile, "{\"recordVersion\": 1, \"key\": ");
  check = check_outputs(out, digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_NE(check.reason.find("is unreadable"), std::string::npos) << check.reason;

  dir.write(fs::path("out") / kBuildRecordFile,
            "{\"recordVersion\": 1, \"key\": \"" + digest.key + "\", \"inputs\": {}, "
            "\"files\": [{\"name\": \"../escape\", \"size\": 1, \"sha256\": \"00\"}]}");
  check = check_outputs(out, digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "the build record names a bad file '../escape'");
}

TEST(ImageRecord, NoRecordMeansNoEarlierBuildAndRemovingIsQuietWhenAbsent) {
  TempDir dir("oic-image-record");
  const InputDigest digest = digest_image_inputs(sample_inputs(dir));
  const OutputsCheck check = check_outputs(dir.path() / "never-built", digest);
  EXPECT_FALSE(check.up_to_date);
  EXPECT_EQ(check.reason, "no earlier build is recorded in " + (dir.path() / "never-built").string());
  EXPECT_NO_THROW(remove_build_record(dir.path() / "never-built"));
  publish_sample(dir, dir.path() / "out", digest);
  remove_build_record(dir.path() / "out");
  EXPECT_FALSE(check_outputs(dir.path() / "out", digest).up_to_date);
}

}  // namespace
}  // namespace supervisor
