// Signing and checking with throw-away keys made by gpg in a home of the
// test's own: a key without a passphrase signs, and its signature checks out
// against its public key only; a passphrase key, a public key and garbage are
// refused naming the key file.
#include "stages/signer/signing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "base/error.hpp"
#include "tests/support/openpgp_keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::signer {
namespace {

using ::testing::HasSubstr;

class Signing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = std::make_unique<tests::TempDir>("oic-signer-keys");
    tests::support::make_openpgp_keys(keys_->path());
  }
  static void TearDownTestSuite() { keys_.reset(); }

  static KeyFile key(const std::string& name) {
    return {(keys_->path() / name).string(), keys_->read(name)};
  }
  static std::string fingerprint_of_a() {
    std::string text = keys_->read("a.fpr");
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  static std::unique_ptr<tests::TempDir> keys_;
};
std::unique_ptr<tests::TempDir> Signing::keys_;

constexpr std::string_view kSums = "3f2a  image.raw\n";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(Signing, SignsAndTheSignatureChecksOutAgainstThePublicKey) {
  const DetachedSignature sig = sign_detached(key("a.sec"), kSums, "SHA256SUMS");
  EXPECT_THAT(sig.armored, HasSubstr("-----BEGIN PGP SIGNATURE-----"));
  EXPECT_EQ(sig.fingerprint, fingerprint_of_a());
  const VerifyOutcome outcome = verify_detached(key("a.pub"), kSums, sig.armored, "SHA256SUMS");
  EXPECT_TRUE(outcome.good) << outcome.problem;
  EXPECT_EQ(outcome.fingerprint, fingerprint_of_a());
}

TEST_F(Signing, TakesABinaryKeyFile) {
  EXPECT_EQ(sign_detached(key("a.bin"), kSums, "SHA256SUMS").fingerprint, fingerprint_of_a());
}

TEST_F(Signing, ChangedDataIsABadSignature) {
  const DetachedSignature sig = sign_detached(key("a.sec"), kSums, "SHA256SUMS");
  const VerifyOutcome outcome = verify_detached(key("a.pub"), "3f2b  image.raw\n", sig.armored, "SHA256SUMS");
  EXPECT_FALSE(outcome.good);
  EXPECT_THAT(outcome.problem, HasSubstr("BAD signature"));
  EXPECT_THAT(outcome.problem, HasSubstr("SHA256SUMS"));
}

TEST_F(Signing, ASignatureByAnotherKeyIsRefused) {
  const DetachedSignature sig = sign_detached(key("b.sec"), kSums, "SHA256SUMS");
  const VerifyOutcome outcome = verify_detached(key("a.pub"), kSums, sig.armored, "SHA256SUMS");
  EXPECT_FALSE(outcome.good);
  EXPECT_THAT(outcome.problem, HasSubstr("not a configured key"));
}

TEST_F(Signing, RefusesAKeyProtectedByAPassphraseNamingIt) {
  const std::string error = error_of([] { sign_detached(key("p.sec"), kSums, "SHA256SUMS"); });
  EXPECT_THAT(error, HasSubstr("'" + (keys_->path() / "p.sec").string() + "'"));
  EXPECT_THAT(error, HasSubstr("protected by a passphrase"));
}

TEST_F(Signing, RefusesGarbageAndPublicKeysNamingTheFile) {
  const KeyFile garbage{"/keys/garbage.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n"};
  EXPECT_THAT(error_of([&] { sign_detached(garbage, kSums, "SHA256SUMS"); }),
              HasSubstr("'/keys/garbage.asc': it holds no OpenPGP secret key"));
  EXPECT_THAT(error_of([] { sign_detached(key("a.pub"), kSums, "SHA256SUMS"); }),
              HasSubstr("it holds no OpenPGP secret key"));
  EXPECT_THAT(error_of([&] { verify_detached(garbage, kSums, "sig", "SHA256SUMS"); }),
              HasSubstr("public key file '/keys/garbage.asc'"));
}

}  // namespace
}  // namespace stage::signer
