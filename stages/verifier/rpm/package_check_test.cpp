#include "stages/verifier/rpm/package_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "stages/verifier/error_of_test.hpp"
#include "stages/verifier/family.hpp"
#include "stages/verifier/rpm/package_check_test_repo.hpp"

namespace stage::verifier::rpm {
namespace {

using stage::verifier::test::error_of;
using test::fixture;
using test::keys_of;
using test::kRepoName;
using test::open_rpm;
using test::rpmkeys_accepts;
using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kNamesIt = "package 'app' from repository 'oic-rpm'";

std::string refusal(const std::filesystem::path& rpm, const RepositoryKeys& keys) {
  const PackageChecker checker({keys});
  return error_of([&] { checker.check(open_rpm(rpm).get(), "app", kRepoName); });
}

// A copy of `rpm` with one byte changed by `edit` (given the file and its layout).
std::filesystem::path edited_copy(const std::filesystem::path& rpm, const std::filesystem::path& out,
                                  const std::function<void(std::string&, const Package&)>& edit) {
  std::string bytes = read_file_bytes(rpm);
  edit(bytes, parse_package(bytes, "copy"));
  std::ofstream(out, std::ios::binary) << bytes;
  return out;
}

TEST(RpmPackageCheck, AcceptsEveryPackageSignedByTheRepositoryKey) {
  const auto& repo = fixture("");
  const PackageChecker checker({keys_of(repo.key())});
  for (const auto& file : repo.rpms()) {
    const Package p = checker.check(open_rpm(repo.rpm(file)).get(), file, kRepoName);
    EXPECT_EQ(file.substr(0, p.main.string(kTagName)->size()), *p.main.string(kTagName));
    EXPECT_TRUE(rpmkeys_accepts(repo.rpm(file), repo.key())) << file;
  }
}

TEST(RpmPackageCheck, HonoursTheFingerprintPin) {
  const auto& repo = fixture("");
  const PackageChecker pinned({keys_of(repo.key(), repo.fingerprint())});
  EXPECT_NO_THROW(pinned.check(open_rpm(repo.victim()).get(), "app", kRepoName));
  EXPECT_THAT(refusal(repo.victim(), keys_of(repo.key(), repo.other_fingerprint())),
              AllOf(HasSubstr(kNamesIt), HasSubstr("does not match the pinned fingerprint")));
}

TEST(RpmPackageCheck, RejectsAnUnsignedPackage) {
  const auto& repo = fixture("--unsigned-rpm");
  EXPECT_THAT(refusal(repo.victim(), keys_of(repo.key())), AllOf(HasSubstr(kNamesIt), HasSubstr("unsigned")));
  EXPECT_FALSE(rpmkeys_accepts(repo.victim(), repo.key()));
}

TEST(RpmPackageCheck, RejectsAPackageSignedByAnotherKey) {
  const auto& repo = fixture("--other-key-rpm");
  EXPECT_THAT(refusal(repo.victim(), keys_of(repo.key())),
              AllOf(HasSubstr(kNamesIt), HasSubstr("NO_PUBKEY"), HasSubstr("header signature")));
  EXPECT_FALSE(rpmkeys_accepts(repo.victim(), repo.key()));
  // The same bytes pass with the key that signed them.
  EXPECT_NO_THROW(PackageChecker({keys_of(repo.other_key())}).check(open_rpm(repo.victim()).get(), "app", kRepoName));
}

TEST(RpmPackageCheck, RejectsAFlippedPayloadByte) {
  const auto& repo = fixture("--flip-rpm");
  EXPECT_THAT(refusal(repo.victim(), keys_of(repo.key())),
              AllOf(HasSubstr(kNamesIt), HasSubstr("payload digest mismatch")));
  EXPECT_FALSE(rpmkeys_accepts(repo.victim(), repo.key()));
}

TEST(RpmPackageCheck, RejectsAFlippedMainHeaderByte) {
  const auto& repo = fixture("");
  tests::rpmrepo::TempDir dir;
  const auto copy = edited_copy(repo.victim(), dir.path() / "app.rpm", [](std::string& bytes, const Package& p) {
    // A byte half way through the data (the index stays readable).
    const auto* intro = reinterpret_cast<const unsigned char*>(p.main.blob().data());
    const std::size_t entries = std::size_t{intro[8]} << 24 | intro[9] << 16 | intro[10] << 8 | intro[11];
    const std::size_t data = p.main_offset + 16 + 16 * entries;
    bytes[data + (p.payload_offset - data) / 2] ^= 0x01;
  });
  EXPECT_THAT(refusal(copy, keys_of(repo.key())), AllOf(HasSubstr(kNamesIt), HasSubstr("BAD signature")));
  EXPECT_FALSE(rpmkeys_accepts(copy, repo.key()));
}

TEST(RpmPackageCheck, RejectsASignatureHeaderDigestThatDoesNotMatch) {
  const auto& repo = fixture("");
  tests::rpmrepo::TempDir dir;
  const auto copy = edited_copy(repo.victim(), dir.path() / "app.rpm", [](std::string& bytes, const Package& p) {
    const std::string digest = *p.signature.string(kSigTagSha256);
    const std::size_t at = bytes.find(digest, 96);
    ASSERT_LT(at, p.main_offset);
    bytes[at] = bytes[at] == '0' ? '1' : '0';
  });
  EXPECT_THAT(refusal(copy, keys_of(repo.key())), AllOf(HasSubstr(kNamesIt), HasSubstr("header digest mismatch")));
  EXPECT_FALSE(rpmkeys_accepts(copy, repo.key()));
}

TEST(RpmPackageCheck, RefusesAPackageOfARepositoryWithoutKeys) {
  const auto& repo = fixture("");
  EXPECT_THAT(refusal(repo.victim(), keys_of(repo.key(), "", "another-repo")),
              AllOf(HasSubstr(kNamesIt), HasSubstr("names no keys for repository 'oic-rpm'")));
}

// The file list of the signed header: rpm itself accepts these packages.
TEST(RpmPackageCheck, ArchiveCheckRefusesDevicesAndDotDotNamesFromTheHeader) {
  const struct {
    const char* variant;
    const char* package;
    const char* reason;
  } cases[] = {
      {"--dev-entry", "evil-dev", "file '/dev/oic-null' is a character device"},
      {"--dotdot", "evil-dotdot", "has a '..' component"},
  };
  for (const auto& c : cases) {
    const auto& repo = fixture(c.variant);
    const auto files = repo.rpms();
    const auto it = std::find_if(files.begin(), files.end(), [&](const std::string& f) { return f.starts_with(std::string(c.package) + "-"); });
    ASSERT_NE(it, files.end()) << c.package;
    const auto checks = rpm_package_checks({keys_of(repo.key())});
    EXPECT_TRUE(rpmkeys_accepts(repo.rpm(*it), repo.key()));
    EXPECT_NO_THROW(checks->check_package(open_rpm(repo.rpm(*it)).get(), c.package, kRepoName, false));
    EXPECT_THAT(error_of([&] { checks->check_package(open_rpm(repo.rpm(*it)).get(), c.package, kRepoName, true); }),
                AllOf(HasSubstr("package '" + std::string(c.package) + "' from repository 'oic-rpm'"), HasSubstr(c.reason)));
  }
  // Every package of the untampered repository passes it.
  const auto& good = fixture("");
  const auto checks = rpm_package_checks({keys_of(good.key())});
  for (const auto& file : good.rpms()) {
    EXPECT_NO_THROW(checks->check_package(open_rpm(good.rpm(file)).get(), file, kRepoName, true)) << file;
  }
}

}  // namespace
}  // namespace stage::verifier::rpm
