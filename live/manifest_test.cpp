#include "live/manifest.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "live/test_medium.hpp"

namespace live {
namespace {

using testing::Medium;

std::string refusal_of(const Medium& medium) {
  medium.save();
  try {
    load_manifest(medium.dir.path());
  } catch (const base::Error& error) {
    return error.message();
  }
  return "(accepted)";
}

TEST(LiveManifest, ReadsEveryField) {
  Medium medium(testing::patterned_raw(4096));
  const Manifest m = load_manifest(medium.dir.path());
  EXPECT_EQ(m.image.path, medium.dir.path() / "images/x-1.0.raw.gz");
  EXPECT_EQ(m.image.size, medium.gz.size());
  EXPECT_EQ(m.image.raw_size, 4096u);
  EXPECT_EQ(m.image.raw_sha256, testing::sha256_of(medium.raw));
  EXPECT_EQ(m.root_partition, 2u);
  EXPECT_EQ(m.esp_partition, 1u);
  EXPECT_EQ(m.root_fs_type, "ext4");
  EXPECT_EQ(m.disk_path, "/dev/vda");
  EXPECT_EQ(m.hostname, "debian12");
  EXPECT_EQ(m.lockfile, medium.dir.path() / "config/x-1.0.lock.json");
  EXPECT_EQ(m.template_dump, medium.dir.path() / "config/template-dump.yaml");
}

TEST(LiveManifest, RefusesAnotherFormat) {
  Medium medium(testing::patterned_raw(4096));
  medium.manifest["format"] = 2;
  EXPECT_NE(refusal_of(medium).find("'format' is 2; this live-installer reads format 1"), std::string::npos);
}

TEST(LiveManifest, RefusesMissingAndMistypedFields) {
  Medium medium(testing::patterned_raw(4096));
  medium.manifest["image"].erase("rawSha256");
  EXPECT_NE(refusal_of(medium).find("'rawSha256' is missing"), std::string::npos);
  medium.manifest["image"]["rawSha256"] = 5;
  EXPECT_NE(refusal_of(medium).find("'rawSha256' is not a string"), std::string::npos);
  medium.manifest["image"]["rawSha256"] = std::string(64, 'A');
  EXPECT_NE(refusal_of(medium).find("'rawSha256' is not 64 lowercase hex digits"), std::string::npos);
}

TEST(LiveManifest, RefusesWhatItCannotInstall) {
  Medium medium(testing::patterned_raw(4096));
  medium.manifest["image"]["compression"] = "xz";
  EXPECT_NE(refusal_of(medium).find("'image.compression' is 'xz', not gzip"), std::string::npos);
  medium.manifest["image"]["compression"] = "gzip";
  medium.manifest["image"]["rawSize"] = 1000;
  EXPECT_NE(refusal_of(medium).find("not a positive multiple of 512"), std::string::npos);
  medium.manifest["image"]["rawSize"] = 4096;
  medium.manifest["rootFsType"] = "xfs";
  EXPECT_NE(refusal_of(medium).find("'rootFsType' is 'xfs'"), std::string::npos);
  medium.manifest["rootFsType"] = "ext4";
  medium.manifest["rootPartition"] = 0;
  EXPECT_NE(refusal_of(medium).find("'rootPartition' is not a GPT partition number"), std::string::npos);
  medium.manifest["rootPartition"] = 2;
  medium.manifest["diskPath"] = "vda";
  EXPECT_NE(refusal_of(medium).find("'diskPath' is not an absolute path"), std::string::npos);
}

TEST(LiveManifest, RefusesPathsOutsideTheMedium) {
  Medium medium(testing::patterned_raw(4096));
  medium.manifest["image"]["path"] = "../x-1.0.raw.gz";
  EXPECT_NE(refusal_of(medium).find("'path' leaves the medium"), std::string::npos);
  medium.manifest["image"]["path"] = "/images/x-1.0.raw.gz";
  EXPECT_NE(refusal_of(medium).find("'path' is not a path relative to the medium"), std::string::npos);
}

TEST(LiveManifest, RefusesALockfileThatIsNotTheOneBuilt) {
  Medium medium(testing::patterned_raw(4096));
  medium.dir.write("config/x-1.0.lock.json", "{\"packages\": [\"evil\"]}\n");
  const std::string why = refusal_of(medium);
  EXPECT_NE(why.find("the lockfile"), std::string::npos) << why;
  EXPECT_NE(why.find("the manifest says " + medium.manifest["lockfile"]["sha256"].get<std::string>()), std::string::npos);
}

TEST(LiveManifest, RefusesAnImageOfAnotherSizeOrNone) {
  Medium medium(testing::patterned_raw(4096));
  medium.replace_gz(medium.gz + "x");
  EXPECT_NE(refusal_of(medium).find("has " + std::to_string(medium.gz.size() + 1) + " bytes; the manifest says"),
            std::string::npos);
  std::filesystem::remove(medium.dir.path() / "images/x-1.0.raw.gz");
  EXPECT_NE(refusal_of(medium).find("is not on the medium"), std::string::npos);
}

TEST(LiveManifest, RefusesAMissingOrBrokenManifest) {
  tests::TempDir empty;
  EXPECT_THROW(load_manifest(empty.path()), base::Error);
  Medium medium(testing::patterned_raw(4096));
  medium.dir.write("install/manifest.json", "{ not json");
  try {
    load_manifest(medium.dir.path());
    FAIL() << "accepted";
  } catch (const base::Error& error) {
    EXPECT_NE(error.message().find("is not a JSON object"), std::string::npos);
  }
}

}  // namespace
}  // namespace live
