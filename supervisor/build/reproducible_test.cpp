// The build's derived identifiers: the same template and lockfile give the
// same ones, another template or lockfile others (docs/reproducible-builds.md).
#include "supervisor/build/reproducible.hpp"

#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "supervisor/build/disk_layout.hpp"
#include "supervisor/build/test_partition.hpp"

namespace supervisor {
namespace {

using test_support::partition;

config::ImageTemplate image_template() {
  config::ImageTemplate image;
  image.image = config::Image{.name = "repro", .version = "1.0"};
  config::Disk disk;
  disk.size = "2GiB";
  disk.partition_table_type = "gpt";
  disk.partitions = {partition("boot", "esp", "1MiB", "129MiB", "fat32", "/boot/efi"),
                     partition("rootfs", "linux-root-amd64", "129MiB", "0", "ext4", "/")};
  image.disk = disk;
  return image;
}

Lockfile lockfile() {
  Lockfile lock;
  lock.provider_id = "debian-debian12-x86_64";
  lock.packages = {{.name = "base-files", .version = "12.4+deb12u5", .architecture = "amd64", .repository = "main",
                    .url = "pool/main/b/base-files/base-files_12.4+deb12u5_amd64.deb", .filename = "",
                    .sha256 = std::string(64, 'a'), .size = 70000, .source = "essential"}};
  lock.install_order = {"base-files"};
  return lock;
}

DiskLayout derived_layout(const config::ImageTemplate& image, const Lockfile& lock) {
  return plan_disk_layout(*image.disk, derived_uuids(build_seed(image, lock)));
}

// Every identifier the disk plan holds, in one list.
std::vector<std::string> ids_of(const DiskLayout& layout) {
  std::vector<std::string> ids = {layout.disk_id};
  for (const PlannedPartition& p : layout.partitions) {
    ids.insert(ids.end(), {p.fs_uuid, p.part_uuid, p.ext_hash_seed});
  }
  return ids;
}

TEST(BuildSeed, IsTheSameForTheSameTemplateAndLockfile) {
  const std::string seed = build_seed(image_template(), lockfile());
  EXPECT_THAT(seed, testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(build_seed(image_template(), lockfile()), seed);
}

TEST(BuildSeed, ChangesWithThePackageSetAndTheTemplate) {
  const std::string seed = build_seed(image_template(), lockfile());
  Lockfile other_lock = lockfile();
  other_lock.packages[0].version = "12.4+deb12u6";
  EXPECT_NE(build_seed(image_template(), other_lock), seed);
  config::ImageTemplate other_image = image_template();
  other_image.image->version = "1.1";
  EXPECT_NE(build_seed(other_image, lockfile()), seed);
}

TEST(DerivedUuid, IsAVersion4UuidFixedByItsSeedAndLabel) {
  static const std::regex re{"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"};
  const std::string seed(64, '1');
  const std::string uuid = derived_uuid(seed, "fs-uuid:rootfs");
  EXPECT_TRUE(std::regex_match(uuid, re)) << uuid;
  EXPECT_EQ(derived_uuid(seed, "fs-uuid:rootfs"), uuid);
  EXPECT_NE(derived_uuid(seed, "part-uuid:rootfs"), uuid);
  EXPECT_NE(derived_uuid(std::string(64, '2'), "fs-uuid:rootfs"), uuid);
}

// The documented derivation, computed here by hand: SHA-256("<seed>\nlabel").
TEST(DerivedUuid, IsTheDocumentedHashOfSeedAndLabel) {
  // printf 'ab\nc' | sha256sum: 0acdf9a2665198da784232d827b01ae3...
  EXPECT_EQ(derived_bytes("ab", "c", 4), (std::vector<unsigned char>{0x0a, 0xcd, 0xf9, 0xa2}));
  // The same 16 bytes with the version (byte 6: 0x4_) and variant (byte 8: 10__) bits set.
  EXPECT_EQ(derived_uuid("ab", "c"), "0acdf9a2-6651-48da-b842-32d827b01ae3");
  EXPECT_THROW(derived_bytes("ab", "c", 33), base::Error);
  EXPECT_THROW(derived_bytes("ab", "", 4), base::Error);
}

TEST(DerivedLayout, TwoPlansOfOneBuildAreEqual) {
  const DiskLayout first = derived_layout(image_template(), lockfile());
  const DiskLayout second = derived_layout(image_template(), lockfile());
  EXPECT_EQ(first.partitions, second.partitions);
  EXPECT_EQ(first.disk_id, second.disk_id);
  EXPECT_EQ(first.fstab, second.fstab);
  EXPECT_EQ(first.root_fs_uuid, second.root_fs_uuid);
}

TEST(DerivedLayout, EveryIdentifierIsSetAndDistinct) {
  const DiskLayout layout = derived_layout(image_template(), lockfile());
  const std::vector<std::string> ids = ids_of(layout);
  EXPECT_EQ(layout.partitions[0].ext_hash_seed, "") << "FAT has no hash seed";
  EXPECT_FALSE(layout.partitions[1].ext_hash_seed.empty());
  EXPECT_THAT(layout.partitions[0].fs_uuid, testing::MatchesRegex("[0-9A-F]{4}-[0-9A-F]{4}"));
  std::set<std::string> distinct(ids.begin(), ids.end());
  distinct.erase("");
  EXPECT_EQ(distinct.size(), ids.size() - 1) << "one empty: the ESP's hash seed";
}

TEST(DerivedLayout, AnotherTemplateOrLockfileGivesOtherIdentifiers) {
  const std::vector<std::string> ids = ids_of(derived_layout(image_template(), lockfile()));
  Lockfile other_lock = lockfile();
  other_lock.packages[0].sha256 = std::string(64, 'b');
  config::ImageTemplate other_image = image_template();
  other_image.image->name = "repro-2";
  for (const auto& other : {ids_of(derived_layout(image_template(), other_lock)),
                            ids_of(derived_layout(other_image, lockfile()))}) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!ids[i].empty()) {
        EXPECT_NE(other[i], ids[i]) << "identifier " << i;
      }
    }
  }
}

TEST(BuildTime, IsSourceDateEpochElseDerivedFromTheLockfile) {
  EXPECT_EQ(build_time(lockfile(), "1700000000"), 1700000000);
  EXPECT_THROW(build_time(lockfile(), "yesterday"), base::Error);
  const std::int64_t derived = build_time(lockfile(), nullptr);
  EXPECT_EQ(build_time(lockfile(), ""), derived);
  EXPECT_GE(derived, 1577836800);
  Lockfile other = lockfile();
  other.packages[0].version = "12.5";
  EXPECT_NE(build_time(other, nullptr), derived);
}

// With no SOURCE_DATE_EPOCH an image's time is the newest signed metadata
// the lock was made from: the same lockfile, the same time, anywhere.
TEST(BuildTime, DefaultsToTheNewestRepositoryDateTheLockfileRecords) {
  Lockfile lock = lockfile();
  lock.repositories = {{.name = "main", .url = "http://127.0.0.1/debian", .signer_fingerprint = "", .deb = {},
                        .date = 1764000000},
                       {.name = "security", .url = "http://127.0.0.1/security", .signer_fingerprint = "", .deb = {},
                        .date = 1765000000},
                       {.name = "local", .url = "http://127.0.0.1/local", .signer_fingerprint = "", .deb = {},
                        .date = -1}};
  EXPECT_EQ(lockfile_time(lock), 1765000000);
  EXPECT_EQ(given_build_time(lock, nullptr), 1765000000);
  EXPECT_EQ(given_build_time(lock, ""), 1765000000);
  EXPECT_EQ(build_time(lock, nullptr), 1765000000);
  EXPECT_EQ(given_build_time(lock, "1700000000"), 1700000000) << "the user's time wins";
  EXPECT_EQ(build_time(lock, "1700000000"), 1700000000);
}

// A lockfile from before repository dates: an image's stages get only a
// time the user chose (a derived one may be older than a package's files).
TEST(BuildTime, AnOldLockfilesImageGetsOnlyAGivenSourceDateEpoch) {
  EXPECT_EQ(lockfile_time(lockfile()), -1);
  EXPECT_EQ(given_build_time(lockfile(), "1700000000"), 1700000000);
  EXPECT_EQ(given_build_time(lockfile(), nullptr), -1);
  EXPECT_EQ(given_build_time(lockfile(), ""), -1);
  EXPECT_THROW(given_build_time(lockfile(), "yesterday"), base::Error);
}

}  // namespace
}  // namespace supervisor
