// Signed outputs end to end without an image build: the build's own publish
// (publish_outputs) and signing code (sign_checksums, which runs the real
// stage-signer sandboxed) on small files, then `os-image-composer verify` as
// a user runs it. It accepts the fresh directory and rejects a flipped byte
// in the image, an edited SBOM, a signature by another key, an edited
// SHA256SUMS and a listed name that leaves the directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "supervisor/build/output_signature.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/stage/progress.hpp"
#include "tests/support/openpgp_keys.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/run_program.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using tests::cli::env_or_empty;

class Verify : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = std::make_unique<tests::TempDir>("oic-verify-keys");
    tests::support::make_openpgp_keys(keys_->path());
  }
  static void TearDownTestSuite() { keys_.reset(); }

  void SetUp() override {
    ASSERT_NE(*env_or_empty("OIC_CLI"), '\0') << "OIC_CLI must name the binary";
    ASSERT_NE(*env_or_empty("OIC_STAGE_DIR"), '\0') << "OIC_STAGE_DIR must hold stage-signer";
    publish({{{}, "img-1.0.raw", "", std::nullopt, std::string(4096, '\x11') + "disk"},
             {{}, "img-1.0.qcow2", "", std::nullopt, std::string("QFI\xfb") + std::string(512, '\0')},
             {{}, "img-1.0.spdx.json", "", std::nullopt, R"({"spdxVersion":"SPDX-2.3","packages":[]})"},
             {{}, "img-1.0.lock.json", "", std::nullopt, R"({"format":2,"packages":[]})"},
             {{}, "img-1.0.template.yml", "", std::nullopt, "image:\n  name: img\n"}});
  }

  void publish(const std::vector<OutputFile>& files) { publish_outputs(out(), files); }

  std::string sign(const std::string& key, const std::optional<fs::path>& keep = std::nullopt) {
    ProgressReporter progress(ProgressMode::kPlain, stderr);
    OrchestratorOptions options;
    options.keep_requests = keep;
    options.handle_signals = false;
    return sign_checksums(out(), keys_->path() / key, options, progress);
  }

  tests::support::RunResult verify(const std::vector<std::string>& extra) {
    return tests::cli::run_cli("verify", extra, scratch_.path());
  }
  tests::support::RunResult verify_with_a() { return verify({out().string(), "--key", (keys_->path() / "a.pub").string()}); }

  fs::path out() const { return scratch_.path() / "imagebuild"; }
  void overwrite(const std::string& name, const std::string& text) {
    fs::remove(out() / name);
    std::ofstream(out() / name, std::ios::binary) << text;
  }

  static std::unique_ptr<tests::TempDir> keys_;
  tests::TempDir scratch_{"oic-verify"};
};
std::unique_ptr<tests::TempDir> Verify::keys_;

TEST_F(Verify, AcceptsAFreshSignedDirectory) {
  const std::string fingerprint = sign("a.sec");
  EXPECT_EQ(fingerprint + "\n", keys_->read("a.fpr"));
  EXPECT_THAT(scratch_.read("imagebuild/SHA256SUMS.asc"), HasSubstr("-----BEGIN PGP SIGNATURE-----"));
  const auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("signature good (key " + fingerprint + "), 5 files match SHA256SUMS"));
  for (const char* name : {"img-1.0.raw", "img-1.0.qcow2", "img-1.0.spdx.json", "img-1.0.lock.json", "img-1.0.template.yml"}) {
    EXPECT_THAT(run.out, HasSubstr(std::string("OK      ") + name));
  }
}

TEST_F(Verify, RejectsOneFlippedByteInTheImage) {
  sign("a.sec");
  std::string image = scratch_.read("imagebuild/img-1.0.raw");
  image[1000] ^= 0x01;
  overwrite("img-1.0.raw", image);
  const auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("FAILED  img-1.0.raw: sha256 differs"));
  EXPECT_THAT(run.out, HasSubstr("OK      img-1.0.spdx.json"));
}

TEST_F(Verify, RejectsAnEditedSbom) {
  sign("a.sec");
  overwrite("img-1.0.spdx.json", R"({"spdxVersion":"SPDX-2.3","packages":[{"name":"backdoor"}]})");
  const auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("FAILED  img-1.0.spdx.json: sha256 differs"));
}

TEST_F(Verify, RejectsASignatureByAnotherKey) {
  sign("b.sec");
  const auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("FAILED  Failed to verify 'SHA256SUMS': signed by key"));
  EXPECT_THAT(run.out, HasSubstr("not a configured key"));
}

TEST_F(Verify, RejectsChecksumsEditedToMatchAChangedFile) {
  sign("a.sec");
  const std::string old_text = scratch_.read("imagebuild/img-1.0.template.yml");
  const std::string new_text = "image:\n  name: evil\n";
  overwrite("img-1.0.template.yml", new_text);
  std::string sums = scratch_.read("imagebuild/SHA256SUMS");
  const std::size_t at = sums.find(sha256_hex(old_text));
  ASSERT_NE(at, std::string::npos);
  sums.replace(at, 64, sha256_hex(new_text));
  overwrite("SHA256SUMS", sums);
  const auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("BAD signature"));
  EXPECT_THAT(run.out, HasSubstr("OK      img-1.0.template.yml"));
}

TEST_F(Verify, RefusesNamesOutsideTheDirectoryAndLinks) {
  overwrite("SHA256SUMS", std::string(64, 'a') + "  ../outside\n" + std::string(64, 'b') + "  img-1.0.raw\n");
  sign("a.sec");
  fs::remove(out() / "img-1.0.raw");
  fs::create_symlink(out() / "img-1.0.qcow2", out() / "img-1.0.raw");
  const auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("SHA256SUMS line 1: not '<sha256>  <file name in the directory>'"));
  EXPECT_THAT(run.out, HasSubstr("FAILED  img-1.0.raw: is a symbolic link"));
}

TEST_F(Verify, ReportsAMissingFileAndAnUnsignedDirectory) {
  sign("a.sec");
  fs::remove(out() / "img-1.0.qcow2");
  auto run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("FAILED  img-1.0.qcow2: missing"));
  // A new publish removes the earlier signature: the new sums are unsigned.
  publish({{{}, "img-1.0.raw", "", std::nullopt, std::string("other")}});
  EXPECT_FALSE(fs::exists(out() / "SHA256SUMS.asc"));
  run = verify_with_a();
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("FAILED  SHA256SUMS.asc: No such file or directory (are the outputs signed?)"));
}

TEST_F(Verify, WithoutAKeyIsAUsageError) {
  sign("a.sec");
  const auto run = verify({out().string()});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("verify needs the public key to check SHA256SUMS.asc against: --key FILE"));
}

TEST_F(Verify, TheConfigsVerifyKeyServesWithoutKey) {
  sign("a.sec");
  fs::create_directories(scratch_.path() / "home/.config/os-image-composer");
  std::ofstream(scratch_.path() / "home/.config/os-image-composer/config.yml")
      << "verify_key: " << (keys_->path() / "a.pub").string() << "\n";
  const auto run = verify({out().string()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
}

// --keep-requests keeps the signer's request, naming the key file's path:
// the key itself is never copied there.
TEST_F(Verify, AKeptSignerRequestHoldsNoKeyByte) {
  const fs::path kept = scratch_.path() / "kept";
  sign("a.sec", kept);
  const std::string key = keys_->read("a.sec");
  const std::string body = key.substr(key.find("\n\n") + 2, 64);
  ASSERT_EQ(body.size(), 64u);
  bool request_seen = false;
  for (const auto& entry : fs::recursive_directory_iterator(kept)) {
    if (!entry.is_regular_file()) continue;
    const std::string text = tests::support::read_whole_file(entry.path());
    EXPECT_THAT(text, Not(HasSubstr(body))) << entry.path();
    if (entry.path().filename() == "sign-outputs.json") {
      request_seen = true;
      EXPECT_THAT(text, HasSubstr((keys_->path() / "a.sec").string()));
    }
  }
  EXPECT_TRUE(request_seen);
}

}  // namespace
}  // namespace supervisor
