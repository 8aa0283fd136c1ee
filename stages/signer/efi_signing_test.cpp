// Secure Boot signing with throw-away keys made by openssl and an unsigned
// EFI binary (tests/support/secure_boot_keys.hpp): the signed binary passes
// sbverify under its certificate only, a changed byte or a missing
// signature is a failed check, and a wrong key, a passphrase key, garbage
// and a file that is no PE binary are refused naming the file at fault.
// Nothing is left in the directory the copies were made in.
#include "stages/signer/efi_signing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "base/error.hpp"
#include "tests/support/secure_boot_keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::signer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class EfiSigning : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files_ = std::make_unique<tests::TempDir>("oic-efi-signing");
    tests::support::make_secure_boot_files(files_->path());
  }
  static void TearDownTestSuite() { files_.reset(); }

  static KeyFile file(const std::string& name) { return {(files_->path() / name).string(), files_->read(name)}; }
  static std::string binary() { return files_->read("app.efi"); }

  // sbverify --cert CERT on `signed_bytes`, run directly on the host.
  static int host_sbverify(const std::string& cert, const std::string& signed_bytes) {
    const fs::path path = files_->path() / "host-check.efi";
    std::ofstream(path, std::ios::binary) << signed_bytes;
    return tests::support::run_program({"/usr/bin/sbverify", "--cert", (files_->path() / cert).string(), path.string()},
                                       {{"PATH", "/usr/bin"}}, files_->path() / ".run")
        .exit_code;
  }

  static std::unique_ptr<tests::TempDir> files_;
};
std::unique_ptr<tests::TempDir> EfiSigning::files_;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(EfiSigning, SignedBinaryPassesSbverifyUnderItsCertificateOnly) {
  const SignedEfi signed_efi = sign_efi(file("db.key"), file("db.crt"), binary(), "BOOTX64.EFI");
  EXPECT_GT(signed_efi.bytes.size(), binary().size());
  EXPECT_EQ(host_sbverify("db.crt", signed_efi.bytes), 0);
  EXPECT_NE(host_sbverify("other.crt", signed_efi.bytes), 0);
  const tests::support::RunResult sum = tests::support::run_program(
      {"/usr/bin/sha256sum", (files_->path() / "host-check.efi").string()}, {}, files_->path() / ".run");
  EXPECT_EQ(sum.out.substr(0, 64), signed_efi.sha256);

  const EfiVerifyOutcome mine = verify_efi(file("db.crt"), signed_efi.bytes, "BOOTX64.EFI");
  EXPECT_TRUE(mine.good) << mine.problem;
  const EfiVerifyOutcome other = verify_efi(file("other.crt"), signed_efi.bytes, "BOOTX64.EFI");
  EXPECT_FALSE(other.good);
  EXPECT_THAT(other.problem, HasSubstr("'BOOTX64.EFI'"));
  EXPECT_THAT(other.problem, HasSubstr("other.crt"));
}

TEST_F(EfiSigning, AChangedByteOrNoSignatureIsAFailedCheck) {
  std::string changed = sign_efi(file("db.key"), file("db.crt"), binary(), "BOOTX64.EFI").bytes;
  changed[binary().size() / 2] ^= 0x01;  // inside the image, before the appended signature
  const EfiVerifyOutcome flipped = verify_efi(file("db.crt"), changed, "BOOTX64.EFI");
  EXPECT_FALSE(flipped.good);
  EXPECT_THAT(flipped.problem, HasSubstr("fails hash check"));

  const EfiVerifyOutcome unsigned_binary = verify_efi(file("db.crt"), binary(), "BOOTX64.EFI");
  EXPECT_FALSE(unsigned_binary.good);
  EXPECT_THAT(unsigned_binary.problem, HasSubstr("it is not signed"));

  const EfiVerifyOutcome garbage = verify_efi(file("db.crt"), "not a PE file", "BOOTX64.EFI");
  EXPECT_FALSE(garbage.good);
  EXPECT_THAT(garbage.problem, HasSubstr("not a PE/EFI binary"));
}

TEST_F(EfiSigning, AKeyThatDoesNotMatchTheCertificateIsAClearError) {
  const std::string error = error_of([] { sign_efi(file("other.key"), file("db.crt"), binary(), "BOOTX64.EFI"); });
  EXPECT_THAT(error, HasSubstr("Failed to sign the EFI binary 'BOOTX64.EFI'"));
  EXPECT_THAT(error, HasSubstr("the key file '" + file("other.key").name + "' does not match the certificate '" +
                               file("db.crt").name + "'"));
  EXPECT_THAT(error, HasSubstr("private key does not match certificate"));  // sbsign's own words
}

TEST_F(EfiSigning, RefusesPassphraseKeysGarbageAndNonPeFilesNamingThem) {
  EXPECT_THAT(error_of([] { sign_efi(file("p.key"), file("db.crt"), binary(), "BOOTX64.EFI"); }),
              HasSubstr("'" + file("p.key").name + "' is protected by a passphrase"));
  const KeyFile garbage{"/keys/db.key", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"};
  EXPECT_THAT(error_of([&] { sign_efi(garbage, file("db.crt"), binary(), "BOOTX64.EFI"); }),
              HasSubstr("the key file '/keys/db.key' is not a PEM private key"));
  const KeyFile no_cert{"/keys/db.crt", "not a certificate"};
  EXPECT_THAT(error_of([&] { sign_efi(file("db.key"), no_cert, binary(), "BOOTX64.EFI"); }),
              HasSubstr("the certificate file '/keys/db.crt' is not a PEM X.509 certificate"));
  EXPECT_THAT(error_of([&] { verify_efi(no_cert, binary(), "BOOTX64.EFI"); }),
              HasSubstr("against the certificate '/keys/db.crt'"));
  const std::string not_pe = error_of([] { sign_efi(file("db.key"), file("db.crt"), "MZ and nothing", "vmlinuz"); });
  EXPECT_THAT(not_pe, HasSubstr("'vmlinuz' is not a PE/EFI binary"));
  EXPECT_THAT(not_pe, HasSubstr("too small for DOS header"));  // sbsign's own words
  const std::string zeros = error_of([] { sign_efi(file("db.key"), file("db.crt"), std::string(4096, '\0'), "z"); });
  EXPECT_THAT(zeros, HasSubstr("'z' is not a PE/EFI binary"));
  EXPECT_THAT(zeros, HasSubstr("Invalid DOS header magic"));
}

TEST_F(EfiSigning, LeavesNothingWhereItWorked) {
  const tests::TempDir work("oic-efi-work");
  sign_efi(file("db.key"), file("db.crt"), binary(), "BOOTX64.EFI", work.path());
  EXPECT_THROW(sign_efi(file("other.key"), file("db.crt"), binary(), "BOOTX64.EFI", work.path()), base::Error);
  verify_efi(file("db.crt"), binary(), "BOOTX64.EFI", work.path());
  EXPECT_TRUE(fs::is_empty(work.path()));
}

}  // namespace
}  // namespace stage::signer
