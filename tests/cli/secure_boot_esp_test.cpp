// Secure Boot's signing jobs end to end without an image build: an ESP copy
// as phase partitions leaves it (a UKI and systemd-boot, here the same
// unsigned EFI binary, and a text file), the supervisor's sign-esp and
// verify-esp jobs run the real, sandboxed stage-signer with throw-away keys
// made by openssl, and the copies in place then pass the host's
// `sbverify --cert` with the DB certificate and fail with another. A key
// that does not match its certificate stops the jobs and changes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "supervisor/build/secure_boot.hpp"
#include "supervisor/stage/progress.hpp"
#include "tests/support/run_program.hpp"
#include "tests/support/secure_boot_keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SecureBootEsp : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* stages = std::getenv("OIC_STAGE_DIR");
    ASSERT_TRUE(stages != nullptr && *stages != '\0') << "OIC_STAGE_DIR must hold stage-signer";
    tests::support::make_secure_boot_files(keys());
    for (const char* path : {"EFI/BOOT/BOOTX64.EFI", "EFI/Linux/linux.efi"}) {
      fs::create_directories((esp() / path).parent_path());
      fs::copy_file(keys() / "app.efi", esp() / path);
    }
    fs::create_directories(esp() / "loader");
    std::ofstream(esp() / "loader/loader.conf") << "timeout 3\n";
  }

  fs::path keys() const { return dir_.path() / "keys"; }
  fs::path workspace() const { return dir_.path() / "ws"; }
  fs::path esp() const { return workspace() / "out/.img-1.0.esp/esp"; }

  // The jobs as a build adds them after make-disk, run to the end.
  EspSigningReport sign(const std::string& key, const std::string& cert) {
    const EspSigning signing{{keys() / key, keys() / cert, keys() / "db.cer"}, workspace() / "out/.img-1.0.esp",
                             workspace()};
    EspSigningReport report;
    std::vector<std::string> last;
    ProgressReporter progress(ProgressMode::kPlain, stderr);
    OrchestratorOptions options;
    options.handle_signals = false;
    Orchestrator run(options, progress);
    for (StageJob& job : esp_signing_jobs(signing, list_esp_binaries(signing, {"esp"}), "", last, report)) {
      run.add(std::move(job));
    }
    run.run();
    return report;
  }

  bool sbverify(const std::string& cert, const std::string& path) {
    return tests::support::run_program({"/usr/bin/sbverify", "--cert", (keys() / cert).string(), (esp() / path).string()},
                                       {{"PATH", "/usr/bin:/bin"}}, dir_.path() / "run")
               .exit_code == 0;
  }

  // Any file under the workspace holding a line of the private key's base64.
  bool key_bytes_in_workspace() {
    std::istringstream key(slurp(keys() / "db.key"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(key, line);) {
      if (line.size() >= 40 && line.find("-----") == std::string::npos) lines.push_back(line);
    }
    for (const auto& entry : fs::recursive_directory_iterator(workspace())) {
      if (!entry.is_regular_file()) continue;
      const std::string text = slurp(entry.path());
      for (const std::string& line : lines) {
        if (text.find(line) != std::string::npos) return true;
      }
    }
    return false;
  }

  tests::TempDir dir_{"oic-secure-boot-esp"};
};

TEST_F(SecureBootEsp, EveryEfiBinaryIsSignedAndPassesSbverifyWithTheDbCertificate) {
  ASSERT_FALSE(sbverify("db.crt", "EFI/BOOT/BOOTX64.EFI")) << "the input must start unsigned";
  const EspSigningReport report = sign("db.key", "db.crt");
  EXPECT_EQ(report.signed_count, 2u);
  EXPECT_EQ(report.certificate, "db.crt");
  EXPECT_TRUE(sbverify("db.crt", "EFI/BOOT/BOOTX64.EFI"));
  EXPECT_TRUE(sbverify("db.crt", "EFI/Linux/linux.efi"));
  EXPECT_FALSE(sbverify("other.crt", "EFI/Linux/linux.efi"));
  EXPECT_EQ(slurp(esp() / "loader/loader.conf"), "timeout 3\n");
  // Nothing beside the signed files: no temporary name, no scratch directory.
  std::vector<std::string> left;
  for (const auto& entry : fs::recursive_directory_iterator(workspace())) left.push_back(entry.path().filename());
  EXPECT_THAT(left, ::testing::UnorderedElementsAre("out", ".img-1.0.esp", "esp", "EFI", "BOOT", "BOOTX64.EFI", "Linux",
                                                    "linux.efi", "loader", "loader.conf"));
  EXPECT_FALSE(key_bytes_in_workspace());
}

TEST_F(SecureBootEsp, AKeyThatDoesNotMatchItsCertificateStopsTheBuildAndChangesNothing) {
  const std::string before = slurp(esp() / "EFI/BOOT/BOOTX64.EFI");
  try {
    sign("db.key", "other.crt");
    FAIL() << "signing with a key that does not match its certificate succeeded";
  } catch (const base::Error& e) {
    // The two binaries are signed by parallel jobs: either may fail first.
    EXPECT_THAT(e.what(), ::testing::AnyOf(HasSubstr("sign-esp-1"), HasSubstr("sign-esp-2")));
  }
  EXPECT_EQ(slurp(esp() / "EFI/BOOT/BOOTX64.EFI"), before);
  EXPECT_FALSE(sbverify("other.crt", "EFI/BOOT/BOOTX64.EFI"));
}

}  // namespace
}  // namespace supervisor
