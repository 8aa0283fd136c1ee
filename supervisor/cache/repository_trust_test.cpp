// The record of what earlier builds accepted from each repository: Release
// Date rollback and keys trusted on first use.
#include "supervisor/cache/repository_trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kRepo = repository_identity("https://127.0.0.1:1/elxr", "aria");
const std::string kKeyA(40, 'A');
const std::string kKeyB(40, 'B');

class TrustFile : public ::testing::Test {
 protected:
  TrustFile() : dir_(fs::temp_directory_path() / ("oic-trust-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~TrustFile() override { fs::remove_all(dir_); }
  fs::path file() const { return dir_ / "repositories.json"; }

  fs::path dir_;
};

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST_F(TrustFile, RefusesAReleaseOlderThanOneAcceptedBefore) {
  RepositoryTrust first(file());
  first.accept_release_date(kRepo, "elxr-aria", 1'700'000'000);
  first.save();
  RepositoryTrust later(file());
  later.accept_release_date(kRepo, "elxr-aria", 1'700'000'000);  // the same archive again
  const std::string error = message_of([&] { later.accept_release_date(kRepo, "elxr-aria", 1'600'000'000); });
  EXPECT_THAT(error, HasSubstr("repository 'elxr-aria' (" + kRepo + "): its Release is dated 2020-09-13 12:26:40 UTC"));
  EXPECT_THAT(error, HasSubstr("older than the 2023-11-14 22:13:20 UTC an earlier build accepted"));
  later.accept_release_date(kRepo, "elxr-aria", 1'800'000'000);
  EXPECT_EQ(later.records().at(kRepo).release_date, 1'800'000'000);
}

TEST_F(TrustFile, TrustsAnUnpinnedKeyOnFirstUseAndRefusesAnotherLater) {
  RepositoryTrust first(file());
  const auto warning = first.accept_first_use_signer(kRepo, "elxr-aria", kKeyA);
  ASSERT_TRUE(warning.has_value());
  EXPECT_THAT(*warning, HasSubstr("trusting on first use the key " + kKeyA));
  first.save();
  RepositoryTrust later(file());
  EXPECT_EQ(later.accept_first_use_signer(kRepo, "elxr-aria", kKeyA), std::nullopt);
  const std::string error = message_of([&] { later.accept_first_use_signer(kRepo, "elxr-aria", kKeyB); });
  EXPECT_THAT(error, HasSubstr("signed by key " + kKeyB + ", but earlier builds trusted key " + kKeyA));
}

TEST_F(TrustFile, IsPrivateAndNeverWrittenThroughALink) {
  RepositoryTrust trust(file());
  trust.accept_release_date(kRepo, "elxr-aria", 1);
  trust.save();
  struct stat st {};
  ASSERT_EQ(::lstat(file().c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A link planted where the file goes is not followed on reading.
  fs::remove(file());
  fs::create_symlink("/etc/hostname", file());
  EXPECT_THAT(message_of([&] { RepositoryTrust linked(file()); }), HasSubstr("Failed to read '" + file().string()));
}

TEST_F(TrustFile, NamesAMalformedFile) {
  std::ofstream(file()) << "{\"repositories\": {\"x\": {}}}";
  EXPECT_THAT(message_of([&] { RepositoryTrust broken(file()); }), HasSubstr("Failed to read '" + file().string()));
}

}  // namespace
}  // namespace supervisor
