#include "stages/verifier/gpg_home.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/error.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using tests::debrepo::TempDir;
using ::testing::HasSubstr;

TEST(GpgHome, IsPrivateAndRemovedWithNoDaemonLeft) {
  TempDir parent;
  std::filesystem::path home;
  {
    GpgHome gpg(parent.path());
    home = gpg.path();
    struct stat st{};
    ASSERT_EQ(::stat(home.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(home.parent_path(), parent.path());
  }
  EXPECT_FALSE(std::filesystem::exists(home));
  EXPECT_THAT(tests::debrepo::processes_mentioning(home.string()), ::testing::IsEmpty());
}

TEST(GpgHome, ImportsBinaryAndArmoredKeyringsAndTheDebianArchiveKeyring) {
  TempDir dir;
  const auto repo = tests::debrepo::make_debrepo(dir.path() / "r");
  GpgHome gpg(dir.path());
  EXPECT_THAT(gpg.import_keys(repo.keyring()), ::testing::ElementsAre(repo.fingerprint()));
  EXPECT_THAT(gpg.import_keys(repo.armored_keyring()), ::testing::ElementsAre(repo.fingerprint()));
  const std::filesystem::path debian = "/usr/share/keyrings/debian-archive-keyring.gpg";
  if (std::filesystem::exists(debian)) {
    EXPECT_GE(gpg.import_keys(debian).size(), 3u);
  }
}

TEST(GpgHome, RejectsFileWithoutKeys) {
  TempDir dir;
  { std::ofstream(dir.path() / "junk.gpg") << "no key here\n"; }
  GpgHome gpg(dir.path());
  try {
    gpg.import_keys(dir.path() / "junk.gpg");
    ADD_FAILURE() << "junk imported";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("junk.gpg"));
  }
}

// The user's own GnuPG home must never be created or read.
TEST(GpgHome, NeverTouchesTheUsersGnupgHome) {
  TempDir dir;
  const auto repo = tests::debrepo::make_debrepo(dir.path() / "r");
  const std::filesystem::path fake_user = dir.path() / "user";
  std::filesystem::create_directory(fake_user);
  const char* old_home = getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  setenv("HOME", fake_user.c_str(), 1);
  setenv("GNUPGHOME", (fake_user / ".gnupg").c_str(), 1);
  {
    GpgHome gpg(dir.path());
    gpg.import_keys(repo.keyring());
  }
  unsetenv("GNUPGHOME");
  if (old_home) setenv("HOME", saved.c_str(), 1);
  EXPECT_TRUE(std::filesystem::is_empty(fake_user));
}

TEST(Fingerprint, NormalizesAndRejectsMalformedPins) {
  EXPECT_EQ(normalize_fingerprint("abcd 0123 ABCD 0123 abcd  0123 ABCD 0123 abcd 0123"),
            "ABCD0123ABCD0123ABCD0123ABCD0123ABCD0123");
  EXPECT_THROW(normalize_fingerprint("ABCD0123"), base::Error);              // a short key id
  EXPECT_THROW(normalize_fingerprint(std::string(39, 'A') + "G"), base::Error);  // not hex
}

}  // namespace
}  // namespace stage::verifier
