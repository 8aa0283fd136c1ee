#include "stages/verifier/deb/release.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "base/error.hpp"
#include "stages/verifier/error_of_test.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using tests::debrepo::DebRepo;
using tests::debrepo::TempDir;
using ::testing::HasSubstr;
using test::error_of;

ReleaseRequest request_for(const DebRepo& repo) {
  ReleaseRequest r;
  r.repository = "test-repo";
  r.suite = "oic-stable";
  r.architecture = "amd64";
  r.components = {"main"};
  r.keyrings = {repo.keyring()};
  r.now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return r;
}

class ReleaseVerification : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    repo_ = new DebRepo(tests::debrepo::make_debrepo(dir_->path() / "good", {"--valid-until", "future"}));
  }
  static void TearDownTestSuite() {
    delete repo_;
    delete dir_;
  }
  static TempDir* dir_;
  static DebRepo* repo_;
};
TempDir* ReleaseVerification::dir_ = nullptr;
DebRepo* ReleaseVerification::repo_ = nullptr;

TEST_F(ReleaseVerification, AcceptsGoodRepositoryThroughInRelease) {
  const Release r = verify_release_dir(repo_->dist_dir(), request_for(*repo_));
  EXPECT_EQ(r.origin, "OIC");
  EXPECT_EQ(r.label, "OIC-Test");
  EXPECT_EQ(r.suite, "oic-stable");
  EXPECT_EQ(r.codename, "oicbook");
  EXPECT_THAT(r.architectures, ::testing::ElementsAre("amd64"));
  EXPECT_THAT(r.components, ::testing::ElementsAre("main"));
  EXPECT_TRUE(r.date.has_value());
  EXPECT_TRUE(r.valid_until.has_value());
  ASSERT_NE(r.find_file("main/binary-amd64/Packages.xz"), nullptr);
  EXPECT_EQ(r.find_file("main/binary-amd64/Packages.xz")->sha256.size(), 64u);
  EXPECT_EQ(r.signer_fingerprint, repo_->fingerprint());
}

TEST_F(ReleaseVerification, AcceptsGoodRepositoryThroughReleaseAndDetachedSignature) {
  const Release r = verify_release_detached(read_file_bytes(repo_->dist_dir() / "Release"),
                                            read_file_bytes(repo_->dist_dir() / "Release.gpg"),
                                            request_for(*repo_));
  EXPECT_EQ(r.codename, "oicbook");
  EXPECT_EQ(r.signer_fingerprint, repo_->fingerprint());
}

TEST_F(ReleaseVerification, AcceptsArmoredKeyringAndCodenameAsSuite) {
  ReleaseRequest req = request_for(*repo_);
  req.keyrings = {repo_->armored_keyring()};
  req.suite = "oicbook";
  EXPECT_EQ(verify_release_dir(repo_->dist_dir(), req).suite, "oic-stable");
}

TEST_F(ReleaseVerification, AcceptsMatchingFingerprintPinWrittenWithSpacesAndLowerCase) {
  ReleaseRequest req = request_for(*repo_);
  std::string pin;
  for (std::size_t i = 0; i < repo_->fingerprint().size(); ++i) {
    if (i > 0 && i % 4 == 0) pin.push_back(' ');
    pin.push_back(static_cast<char>(std::tolower(repo_->fingerprint()[i])));
  }
  req.fingerprint_pins = {pin};
  EXPECT_EQ(verify_release_dir(repo_->dist_dir(), req).signer_fingerprint, repo_->fingerprint());
}

TEST_F(ReleaseVerification, RejectsFingerprintPinMismatchEvenWhenTheKeyIsConfigured) {
  ReleaseRequest req = request_for(*repo_);
  req.keyrings.push_back(repo_->other_keyring());
  req.fingerprint_pins = {repo_->other_fingerprint()};
  const std::string msg = error_of([&] { verify_release_dir(repo_->dist_dir(), req); });
  EXPECT_THAT(msg, HasSubstr("'InRelease' of repository 'test-repo'"));
  EXPECT_THAT(msg, HasSubstr("does not match the pinned fingerprint"));
}

// Rows whose request differs from what the good repository offers.
TEST_F(ReleaseVerification, RejectsReleaseThatDoesNotMatchTheRequest) {
  struct Case {
    const char* name;
    std::function<void(ReleaseRequest&)> change;
    const char* expected;
  };
  const Case cases[] = {
      // A mirror serving another suite must not be mixed in.
      {"wrong suite", [](ReleaseRequest& r) { r.suite = "bookworm"; }, "not the requested 'bookworm'"},
      // The image architecture must be built by the repository.
      {"wrong architecture", [](ReleaseRequest& r) { r.architecture = "arm64"; },
       "architecture 'arm64' is not listed"},
      {"missing component", [](ReleaseRequest& r) { r.components = {"contrib"}; },
       "component 'contrib' is not listed"},
      // A clock far ahead means the Valid-Until has passed.
      {"clock after Valid-Until",
       [](ReleaseRequest& r) { r.now += std::chrono::hours(24 * 365); }, "Valid-Until"},
      // A Release from the future is refused like apt does.
      {"Date in the future", [](ReleaseRequest& r) { r.now -= std::chrono::hours(48); },
       "not valid yet"},
      {"no keyring", [](ReleaseRequest& r) { r.keyrings.clear(); }, "no keyring configured"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ReleaseRequest req = request_for(*repo_);
    c.change(req);
    EXPECT_THAT(error_of([&] { verify_release_dir(repo_->dist_dir(), req); }),
                HasSubstr(c.expected));
  }
}

TEST_F(ReleaseVerification, RejectsInReleaseWithoutSignature) {
  TempDir dir;
  const std::string release = read_file_bytes(repo_->dist_dir() / "Release");
  EXPECT_THAT(error_of([&] { verify_release(release, request_for(*repo_)); }),
              HasSubstr("'InRelease' of repository 'test-repo': no signature"));
}

TEST_F(ReleaseVerification, RejectsUnsignedTextAppendedAfterTheSignature) {
  const std::string doc =
      read_file_bytes(repo_->dist_dir() / "InRelease") + "\nSuite: attacker\n";
  EXPECT_THAT(error_of([&] { verify_release(doc, request_for(*repo_)); }),
              HasSubstr("unsigned text after the signature"));
}

TEST_F(ReleaseVerification, RejectsReleaseWithNoSignatureFileAtAll) {
  TempDir dir;
  std::filesystem::copy_file(repo_->dist_dir() / "Release", dir.path() / "Release");
  EXPECT_THAT(error_of([&] { verify_release_dir(dir.path(), request_for(*repo_)); }),
              HasSubstr("no signature"));
}

TEST_F(ReleaseVerification, LeavesNoGpgProcessOrHomeBehind) {
  TempDir parent;
  verify_release_dir(repo_->dist_dir(), request_for(*repo_), parent.path());
  EXPECT_TRUE(std::filesystem::is_empty(parent.path()));
  EXPECT_THAT(tests::debrepo::processes_mentioning(parent.path().string()), ::testing::IsEmpty());
  EXPECT_THAT(tests::debrepo::processes_mentioning(repo_->root.string()), ::testing::IsEmpty());
}

// Each row builds its own tampered repository (from the shared .debs and keys).
TEST(ReleaseTampering, EachTamperedRepositoryIsRejectedWithTheRightReason) {
  struct Case {
    const char* name;
    std::vector<std::string> options;
    bool detached;
    const char* expected;
  };
  const Case cases[] = {
      // One changed byte inside the clearsigned text.
      {"byte flipped in InRelease", {"--flip-inrelease"}, false, "BAD signature"},
      // A key that is not in the configured keyring.
      {"signed by another key", {"--sign-with-other-key"}, false, "NO_PUBKEY"},
      {"signed by another key (detached)", {"--sign-with-other-key"}, true, "NO_PUBKEY"},
      // Made in 2020 with a one-day expiry.
      {"expired signature", {"--expired-signature"}, false, "signature by key"},
      {"expired signature (detached)", {"--expired-signature"}, true, "has expired"},
      {"expired key", {"--expired-key"}, false, "has expired"},
      {"revoked key", {"--revoked-key"}, false, "is revoked"},
      {"Valid-Until in the past", {"--valid-until", "past"}, false, "Valid-Until 2000-01-01"},
      {"Valid-Until in the past (detached)", {"--valid-until", "past"}, true, "Valid-Until"},
      // Correctly signed, but for a different suite than requested.
      {"wrong suite", {"--suite", "oic-testing", "--codename", "oicnext"}, false,
       "it is for suite 'oic-testing'"},
  };
  TempDir dir;
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const DebRepo repo = tests::debrepo::make_debrepo_from_base(dir.path() / std::to_string(n++), c.options);
    const ReleaseRequest req = request_for(repo);
    const std::string msg = error_of([&] {
      if (c.detached) {
        verify_release_detached(read_file_bytes(repo.dist_dir() / "Release"),
                                read_file_bytes(repo.dist_dir() / "Release.gpg"), req);
      } else {
        verify_release_dir(repo.dist_dir(), req);
      }
    });
    EXPECT_THAT(msg, HasSubstr(c.expected));
    EXPECT_THAT(msg, HasSubstr(c.detached ? "'Release" : "'InRelease' of repository 'test-repo'"));
  }
  EXPECT_THAT(tests::debrepo::processes_mentioning(dir.path().string()), ::testing::IsEmpty());
}

}  // namespace
}  // namespace stage::verifier
