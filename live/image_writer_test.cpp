#include "live/image_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "live/test_medium.hpp"

namespace live {
namespace {

using testing::Medium;

constexpr std::size_t kRaw = 3 << 20;  // more than one 1 MiB chunk

struct Disk {
  tests::TempDir dir{"oic-live-disk"};
  std::filesystem::path path = dir.write("disk.img", std::string(kRaw + 4096, '\x55'));
  base::UniqueFd fd{::open(path.c_str(), O_RDWR | O_CLOEXEC)};
  std::string content() const { return dir.read("disk.img"); }
};

// The message of the error writing `medium` onto `disk` throws ("" if none).
std::string write_error(const Medium& medium, Disk& disk) {
  try {
    const Manifest m = load_manifest(medium.dir.path());
    write_image(m.image, disk.fd.get(), disk.path.string(), {});
    verify_written_image(m.image, disk.fd.get(), disk.path.string());
  } catch (const base::Error& error) {
    return error.message();
  }
  return "";
}

TEST(LiveImageWriter, WritesTheRawImageAndReportsProgress) {
  Medium medium(testing::patterned_raw(kRaw));
  Disk disk;
  const Manifest m = load_manifest(medium.dir.path());
  std::uint64_t last = 0, total = 0;
  write_image(m.image, disk.fd.get(), "disk", [&](std::uint64_t written, std::uint64_t all) {
    EXPECT_GT(written, last);
    last = written;
    total = all;
  });
  verify_written_image(m.image, disk.fd.get(), "disk");
  EXPECT_EQ(last, kRaw);
  EXPECT_EQ(total, kRaw);
  const std::string content = disk.content();
  EXPECT_EQ(content.substr(0, kRaw), medium.raw);
  EXPECT_EQ(content.substr(kRaw), std::string(4096, '\x55'));  // beyond the image: untouched
}

TEST(LiveImageWriter, ReadsConcatenatedGzipMembers) {
  Medium medium(testing::patterned_raw(kRaw));
  const std::string half = medium.raw.substr(0, kRaw / 2);
  medium.gz = testing::gzip_of(half) + testing::gzip_of(medium.raw.substr(kRaw / 2));
  medium.replace_gz(medium.gz);
  medium.manifest["image"]["sha256"] = testing::sha256_of(medium.gz);
  medium.manifest["image"]["size"] = medium.gz.size();
  medium.save();
  Disk disk;
  EXPECT_EQ(write_error(medium, disk), "");
  EXPECT_EQ(disk.content().substr(0, kRaw), medium.raw);
}

TEST(LiveImageWriter, RefusesAFlippedByteTheGzipFormatDoesNotCheck) {
  Medium medium(testing::patterned_raw(kRaw));
  std::string gz = medium.gz;
  gz[4] = static_cast<char>(gz[4] ^ 1);  // the gzip header's mtime: only the SHA-256 sees it
  medium.replace_gz(gz);
  Disk disk;
  const std::string why = write_error(medium, disk);
  EXPECT_NE(why.find("the SHA-256 of " + (medium.dir.path() / "images/x-1.0.raw.gz").string() + " is "),
            std::string::npos) << why;
  EXPECT_NE(why.find("the manifest says " + testing::sha256_of(medium.gz)), std::string::npos) << why;
  EXPECT_EQ(disk.content().substr(0, 1 << 20), std::string(1 << 20, '\0'));  // wiped: it cannot boot
}

TEST(LiveImageWriter, RefusesAFlippedByteInTheCompressedData) {
  Medium medium(testing::patterned_raw(kRaw));
  std::string gz = medium.gz;
  gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x10);
  medium.replace_gz(gz);
  Disk disk;
  const std::string why = write_error(medium, disk);
  EXPECT_FALSE(why.empty());
  EXPECT_TRUE(why.find("is not a valid gzip stream") != std::string::npos || why.find("SHA-256") != std::string::npos)
      << why;
  EXPECT_EQ(disk.content().substr(0, 1 << 20), std::string(1 << 20, '\0'));
}

TEST(LiveImageWriter, RefusesAWrongRawSha256) {
  Medium medium(testing::patterned_raw(kRaw));
  medium.manifest["image"]["rawSha256"] = std::string(64, '0');
  medium.save();
  Disk disk;
  const std::string why = write_error(medium, disk);
  EXPECT_NE(why.find("the SHA-256 of the unpacked"), std::string::npos) << why;
  EXPECT_NE(why.find("the manifest says " + std::string(64, '0')), std::string::npos) << why;
  EXPECT_EQ(disk.content().substr(0, 1 << 20), std::string(1 << 20, '\0'));
}

TEST(LiveImageWriter, RefusesAnImageLargerThanRawSize) {
  Medium medium(testing::patterned_raw(kRaw));
  medium.manifest["image"]["rawSize"] = kRaw - 512;
  medium.save();
  Disk disk;
  EXPECT_NE(write_error(medium, disk).find("unpacks to more than the manifest's rawSize"), std::string::npos);
  EXPECT_EQ(disk.content().substr(kRaw), std::string(4096, '\x55'));  // never wrote past rawSize
}

TEST(LiveImageWriter, RefusesATruncatedImage) {
  Medium medium(testing::patterned_raw(kRaw));
  medium.gz.resize(medium.gz.size() - 100);
  medium.replace_gz(medium.gz);
  medium.manifest["image"]["sha256"] = testing::sha256_of(medium.gz);
  medium.manifest["image"]["size"] = medium.gz.size();
  medium.save();
  Disk disk;
  EXPECT_NE(write_error(medium, disk).find("ends inside its gzip stream"), std::string::npos);
}

TEST(LiveImageWriter, ReadBackFindsWhatChangedOnTheDisk) {
  Medium medium(testing::patterned_raw(kRaw));
  Disk disk;
  const Manifest m = load_manifest(medium.dir.path());
  write_image(m.image, disk.fd.get(), "disk", {});
  ASSERT_EQ(::pwrite(disk.fd.get(), "X", 1, 12345), 1);
  try {
    verify_written_image(m.image, disk.fd.get(), "the disk");
    FAIL() << "a changed byte on the disk was not seen";
  } catch (const base::Error& error) {
    EXPECT_NE(error.message().find("the image read back from the disk has SHA-256"), std::string::npos);
  }
}

}  // namespace
}  // namespace live
