#include "supervisor/build/image_record.hpp"

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

// One output directory published from the sample inputs.
class PublishedOutputs : public ::testing::Test {
 protected:
  void SetUp() override { publish(); }
  void publish() { published_ = publish_sample(dir_, out_, digest_); }
  OutputsCheck check() const { return check_outputs(out_, digest_); }
  // What booting an image without a snapshot does: bytes change in place.
  void overwrite_byte(const std::string& name, std::streamoff offset, char byte) const {
    std::fstream file(out_ / name, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(offset);
    file.put(byte);
  }

  TempDir dir_{"oic-image-record"};
  ImageInputs inputs_ = sample_inputs(dir_);
  InputDigest digest_ = digest_image_inputs(inputs_);
  fs::path out_ = dir_.path() / "out";
  std::vector<PublishedFile> published_;
};

TEST_F(PublishedOutputs, AreUpToDateForTheSameInputsWithTheirPublishedFiles) {
  const OutputsCheck result = check();
  ASSERT_TRUE(result.up_to_date) << result.reason;
  ASSERT_EQ(result.files.size(), published_.size());
  for (std::size_t i = 0; i < published_.size(); ++i) {
    EXPECT_EQ(result.files[i].path, published_[i].path);
    EXPECT_EQ(result.files[i].sha256, published_[i].sha256);
    EXPECT_EQ(result.files[i].size, published_[i].size);
  }
}

TEST_F(PublishedOutputs, ChangedInputsNameWhatChanged) {
  inputs_.lockfile = "{\"packages\": [2]}\n";
  dir_.write("files/motd", "changed\n");
  const OutputsCheck result = check_outputs(out_, digest_image_inputs(inputs_));
  EXPECT_FALSE(result.up_to_date);
  EXPECT_EQ(result.reason, "an additional file changed, the package set changed");
}

TEST_F(PublishedOutputs, AnOutputChangedAfterTheBuildIsNotUpToDateEvenWithItsSizeAndNameKept) {
  overwrite_byte("demo.raw", 10, 'X');
  EXPECT_EQ(check().reason, "demo.raw changed since it was built");
  publish();
  fs::remove(out_ / "demo.lock.json");
  EXPECT_EQ(check().reason, "demo.lock.json is missing");
  EXPECT_FALSE(check().up_to_date);
}

TEST_F(PublishedOutputs, SettingTheModificationTimeBackDoesNotHideAChange) {
  struct stat before {};
  ASSERT_EQ(::stat((out_ / "demo.raw").c_str(), &before), 0);
  overwrite_byte("demo.raw", 20, 'Y');
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (out_ / "demo.raw").c_str(), times, 0), 0);
  EXPECT_FALSE(check().up_to_date);
  EXPECT_EQ(check().reason, "demo.raw changed since it was built");
}

TEST_F(PublishedOutputs, EditedChecksumsOrRecordMeanARebuild) {
  dir_.write("out/SHA256SUMS", "0000  demo.raw\n");
  EXPECT_EQ(check().reason, "SHA256SUMS does not list the recorded files");

  publish();
  dir_.write(fs::path("out") / kBuildRecordFile, "{\"recordVersion\": 1, \"key\": ");
  EXPECT_NE(check().reason.find("is unreadable"), std::string::npos) << check().reason;

  dir_.write(fs::path("out") / kBuildRecordFile,
             "{\"recordVersion\": 1, \"key\": \"" + digest_.key + "\", \"inputs\": {}, "
             "\"files\": [{\"name\": \"../escape\", \"size\": 1, \"sha256\": \"00\"}]}");
  EXPECT_EQ(check().reason, "the build record names a bad file '../escape'");
  EXPECT_FALSE(check().up_to_date);
}

// Links planted under the record's names: the temporary file is made anew
// (the link's target is untouched) and a linked record is no record.
TEST_F(PublishedOutputs, TheRecordFollowsNoPlantedLink) {
  const fs::path victim = dir_.write("home/.bashrc", "user's file\n");
  const fs::path temp = out_ / (std::string(kBuildRecordFile) + ".tmp-" + std::to_string(::getpid()));
  fs::create_symlink(victim, temp);
  write_build_record(out_, digest_, published_);
  EXPECT_EQ(dir_.read("home/.bashrc"), "user's file\n");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out_ / kBuildRecordFile)));
  ASSERT_TRUE(check().up_to_date) << check().reason;

  fs::rename(out_ / kBuildRecordFile, dir_.path() / "record-elsewhere.json");
  fs::create_symlink(dir_.path() / "record-elsewhere.json", out_ / kBuildRecordFile);
  EXPECT_FALSE(check().up_to_date);
  fs::remove(out_ / kBuildRecordFile);
  fs::rename(dir_.path() / "record-elsewhere.json", out_ / kBuildRecordFile);
  fs::rename(out_ / "demo.raw", dir_.path() / "demo.raw");
  fs::create_symlink(dir_.path() / "demo.raw", out_ / "demo.raw");
  EXPECT_EQ(check().reason, "demo.raw is missing");
}

TEST_F(PublishedOutputs, NoRecordMeansNoEarlierBuildAndRemovingIsQuietWhenAbsent) {
  const OutputsCheck never = check_outputs(dir_.path() / "never-built", digest_);
  EXPECT_FALSE(never.up_to_date);
  EXPECT_EQ(never.reason, "no earlier build is recorded in " + (dir_.path() / "never-built").string());
  EXPECT_NO_THROW(remove_build_record(dir_.path() / "never-built"));
  remove_build_record(out_);
  EXPECT_FALSE(check().up_to_date);
}

}  // namespace
}  // namespace supervisor
