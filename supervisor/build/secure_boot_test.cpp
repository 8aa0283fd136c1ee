// Secure Boot's supervisor side without a stage: the key paths, the EFI
// binaries found in a stage-written ESP copy (no link followed), a signed
// copy put in place, and the signing jobs' requests (the key in the signer's
// sign request alone).
#include "supervisor/build/secure_boot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "stages/signer/signer.capnp.h"
#include "supervisor/cache/digest.hpp"
#include "supervisor/repository_common.hpp"
#include "supervisor/stage/stage_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

base::UniqueFd open_dir(const fs::path& path) {
  return base::UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

config::ImageTemplate keyed_template(const fs::path& source, bool enabled) {
  config::ImageTemplate image;
  image.source = source;
  image.system_config = config::SystemConfig{};
  image.system_config->immutability = config::Immutability{
      .enabled = enabled, .secure_boot_db_key = "keys/DB.key", .secure_boot_db_crt = "/etc/sb/DB.crt",
      .secure_boot_db_cer = "../DB.cer"};
  return image;
}

TEST(SecureBootKeys, RelativePathsAreBesideTheTemplate) {
  const auto keys = secure_boot_keys(keyed_template("/work/tmpl/user.yml", true));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->key, "/work/tmpl/keys/DB.key");
  EXPECT_EQ(keys->certificate, "/etc/sb/DB.crt");
  EXPECT_EQ(keys->der, "/work/DB.cer");
  EXPECT_FALSE(secure_boot_keys(config::ImageTemplate{}).has_value());
}

// The merge turns `enabled` (the dm-verity root) off when the disk has no
// hash partition; the keys still ask for a signed ESP, not for none.
TEST(SecureBootKeys, ApplyWithoutADmVerityRoot) {
  const auto keys = secure_boot_keys(keyed_template("/work/tmpl/user.yml", false));
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->key, "/work/tmpl/keys/DB.key");
}

std::vector<std::string> package_names(const std::vector<TemplatePackage>& packages) {
  std::vector<std::string> names;
  for (const TemplatePackage& p : packages) {
    names.push_back(p.spec + (p.source == ipc::proto::PackageSource::BOOTLOADER ? " (bootloader)" : ""));
  }
  return names;
}

// GRUB under Secure Boot runs behind the image's shim: its package (the OS
// data's) is asked for without the template naming it, for a raw disk and
// an ISO's target, not for an initrd.
TEST(SecureBootKeys, GrubAsksForTheShimPackageOfTheOsData) {
  config::GrubNames debian;
  debian.shim = "/usr/lib/shim/shimx64.efi";
  debian.shim_package = "shim-unsigned";
  config::ImageTemplate image = keyed_template("/work/tmpl/user.yml", false);
  image.system_config->packages = {"sudo"};
  EXPECT_THAT(package_names(template_packages(image, debian)), ElementsAre("sudo", "shim-unsigned (bootloader)"))
      << "no bootloader section: GRUB";
  image.system_config->bootloader = config::Bootloader{.boot_type = "efi", .provider = "grub2"};
  EXPECT_THAT(package_names(template_packages(image, debian)), ElementsAre("sudo", "shim-unsigned (bootloader)"));
  EXPECT_THAT(package_names(template_packages(image, config::GrubNames{})), ElementsAre("sudo"))
      << "no shim in the OS data: the installer refuses";
  image.system_config->bootloader->provider = "systemd-boot";
  EXPECT_THAT(package_names(template_packages(image, debian)), ElementsAre("sudo"));
  image.system_config->bootloader->provider = "grub";
  image.target = config::Target{.image_type = "iso"};
  EXPECT_THAT(package_names(template_packages(image, debian)), ElementsAre("sudo", "shim-unsigned (bootloader)"))
      << "an ISO's target is the raw disk its installer writes";
  image.target->image_type = "initrd";
  EXPECT_THAT(package_names(template_packages(image, debian)), ElementsAre("sudo"));
  image.target->image_type = "raw";
  image.system_config->immutability.reset();
  EXPECT_THAT(package_names(template_packages(image, debian)), ElementsAre("sudo")) << "no keys";
}

TEST(SecureBootKeys, GrubWithoutShimDataIsRefusedBeforeTheBuild) {
  config::ImageTemplate image = keyed_template("/work/tmpl/user.yml", false);
  config::ProviderData azl3;
  azl3.id = "azure-linux-azl3-x86_64";
  azl3.os_dir = "/c/osv/azure-linux/azl3";
  try {
    require_shim_data(image, azl3);
    ADD_FAILURE() << "not refused";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.what(), HasSubstr("OS data of azure-linux-azl3-x86_64 (/c/osv/azure-linux/azl3/config.yml) has no "
                                    "grub.secureBoot"));
  }
  config::ProviderData debian = azl3;
  debian.facts.grub.shim = "/usr/lib/shim/shimx64.efi";
  debian.facts.grub.sbat = "sbat,1,\ngrub,5,\n";
  EXPECT_NO_THROW(require_shim_data(image, debian));
  image.system_config->bootloader = config::Bootloader{.boot_type = "efi", .provider = "systemd-boot"};
  EXPECT_NO_THROW(require_shim_data(image, azl3)) << "no shim in front of systemd-boot";
}

class EspCopy : public testing::Test {
 protected:
  void SetUp() override {
    esp = dir.path() / "ws" / "out" / ".img.esp";
    write(esp / "esp/EFI/BOOT/BOOTX64.EFI", "MZ loader");
    write(esp / "esp/EFI/Linux/linux.efi", "MZ uki");
    write(esp / "esp/loader/loader.conf", "timeout 3");
    write(esp / "esp/EFI/M", "M");
    write(dir.path() / "keys/DB.key", "key");
    write(dir.path() / "keys/DB.crt", "crt");
    signing = EspSigning{{dir.path() / "keys/DB.key", dir.path() / "keys/DB.crt", dir.path() / "keys/DB.cer"},
                         esp, dir.path() / "ws"};
  }
  tests::TempDir dir;
  fs::path esp;
  EspSigning signing;
};

TEST_F(EspCopy, FindsEveryFileThatStartsWithMz) {
  EXPECT_THAT(list_esp_binaries(signing, {"esp"}),
              ElementsAre(testing::Field(&EfiBinary::path, "EFI/BOOT/BOOTX64.EFI"),
                          testing::Field(&EfiBinary::path, "EFI/Linux/linux.efi")));
}

TEST_F(EspCopy, RefusesALinkInTheCopyAndNeverFollowsIt) {
  fs::create_symlink(dir.path() / "keys/DB.key", esp / "esp/EFI/BOOT/grub.efi");
  try {
    list_esp_binaries(signing, {"esp"});
    FAIL() << "a symbolic link was accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kSandboxViolation);
    EXPECT_THAT(e.what(), HasSubstr("EFI/BOOT/grub.efi' is a symbolic link"));
  }
}

TEST_F(EspCopy, RefusesACopyDirectoryReplacedByALink) {
  fs::rename(esp, dir.path() / "elsewhere");
  fs::create_directory_symlink(dir.path() / "elsewhere", esp);
  EXPECT_THROW(list_esp_binaries(signing, {"esp"}), base::Error);
}

TEST_F(EspCopy, AnEspWithoutAnEfiBinaryIsAnError) {
  fs::remove_all(esp / "esp/EFI");
  EXPECT_THROW(list_esp_binaries(signing, {"esp"}), base::Error);
}

TEST_F(EspCopy, PutsTheSignedCopyInPlaceOfTheOriginal) {
  write(dir.path() / "signed", "MZ signed loader");
  const base::UniqueFd copy(::open((dir.path() / "signed").c_str(), O_RDONLY | O_CLOEXEC));
  const base::UniqueFd root = open_dir(esp / "esp");
  put_signed_in_place(root.get(), "EFI/BOOT/BOOTX64.EFI", copy.get(), "BOOTX64.EFI");
  EXPECT_EQ(read(esp / "esp/EFI/BOOT/BOOTX64.EFI"), "MZ signed loader");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(esp / "esp/EFI/BOOT")) names.push_back(entry.path().filename());
  EXPECT_THAT(names, ElementsAre("BOOTX64.EFI"));
}

TEST_F(EspCopy, DoesNotPutASignedCopyThroughALinkedDirectory) {
  fs::create_directories(dir.path() / "victim");
  fs::create_directory_symlink(dir.path() / "victim", esp / "esp/EFI/Linked");
  write(dir.path() / "victim/x.efi", "MZ x");
  write(dir.path() / "signed", "MZ signed");
  const base::UniqueFd copy(::open((dir.path() / "signed").c_str(), O_RDONLY | O_CLOEXEC));
  const base::UniqueFd root = open_dir(esp / "esp");
  EXPECT_THROW(put_signed_in_place(root.get(), "EFI/Linked/x.efi", copy.get(), "x.efi"), base::Error);
  EXPECT_EQ(read(dir.path() / "victim/x.efi"), "MZ x");
}

// Each binary: sign-esp-N (key, certificate, the binary, a new output file of
// the supervisor's) then verify-esp-N (certificate and that output only).
TEST_F(EspCopy, SigningJobsCarryTheKeyOnlyInTheSignRequest) {
  EspSigningReport report;
  std::vector<std::string> last;
  const std::vector<StageJob> jobs = esp_signing_jobs(signing, list_esp_binaries(signing, {"esp"}), "make-disk", last,
                                                      report);
  std::vector<std::string> names;
  for (const StageJob& job : jobs) {
    names.push_back(job.name);
    EXPECT_EQ(job.kind, ipc::proto::StageKind::SIGNER);
  }
  EXPECT_THAT(names, ElementsAre("sign-esp-1", "verify-esp-1", "sign-esp-2", "verify-esp-2"));
  EXPECT_THAT(jobs[0].after, ElementsAre("make-disk"));
  EXPECT_THAT(jobs[1].after, ElementsAre("sign-esp-1"));
  EXPECT_THAT(last, ElementsAre("verify-esp-1", "verify-esp-2"));
  EXPECT_EQ(report.certificate, "DB.crt");

  const PreparedRequest sign = jobs[0].prepare();
  const auto op = sign.message->getRoot<ipc::proto::Message>().asReader().getRequest().getSigner().getSignEfi();
  ASSERT_EQ(sign.fds.size(), 4u);
  EXPECT_EQ(sign.fd_paths[static_cast<unsigned>(op.getKey().getSlot())], signing.keys.key);
  EXPECT_TRUE(sign.fd_secret[static_cast<unsigned>(op.getKey().getSlot())]);
  EXPECT_EQ(sign.fd_paths[static_cast<unsigned>(op.getCertificate().getSlot())], signing.keys.certificate);
  EXPECT_THAT(std::string(op.getFileName().cStr()), HasSubstr("esp/EFI/BOOT/BOOTX64.EFI"));
  const fs::path output = sign.fd_paths[static_cast<unsigned>(op.getOutput().getSlot())];
  EXPECT_EQ(output.parent_path().parent_path(), dir.path() / "ws");
  EXPECT_THAT(output.parent_path().filename().string(), testing::StartsWith(".secure-boot-"));
  EXPECT_TRUE(sign.mounts.read_only.empty() && sign.mounts.read_write.empty()) << "fds only, no bind";

  const PreparedRequest verify = jobs[1].prepare();
  const auto check = verify.message->getRoot<ipc::proto::Message>().asReader().getRequest().getSigner();
  ASSERT_TRUE(check.isVerifyEfi());
  for (const fs::path& path : verify.fd_paths) EXPECT_NE(path, signing.keys.key);
  EXPECT_THAT(verify.fd_paths, ElementsAre(signing.keys.certificate, output));
}

// What the signer would report, as the orchestrator hands it to on_success.
StageOutcome signed_outcome(const std::string& sha256) {
  StageOutcome outcome;
  outcome.result = std::make_unique<capnp::MallocMessageBuilder>();
  auto made = outcome.result->initRoot<ipc::proto::StageResult>().initSigner().initSignEfi();
  made.setSha256(sha256);
  made.setSize(1);
  return outcome;
}

StageOutcome verified_outcome(bool good, const std::string& problem) {
  StageOutcome outcome;
  outcome.result = std::make_unique<capnp::MallocMessageBuilder>();
  auto checked = outcome.result->initRoot<ipc::proto::StageResult>().initSigner().initVerifyEfi();
  checked.setGood(good);
  checked.setProblem(problem);
  return outcome;
}

// verify-esp-N's result decides: a failed sbverify stops the build naming the
// binary; a copy whose sha256 is not the one the signer reported is refused;
// a good one replaces the original.
TEST_F(EspCopy, TheVerifyResultDecidesWhetherTheSignedCopyIsPutInPlace) {
  const fs::path boot = esp / "esp/EFI/BOOT/BOOTX64.EFI";
  for (const std::string mode : {"refused", "other sha256", "good"}) {
    EspSigningReport report;
    std::vector<std::string> last;
    std::vector<StageJob> jobs = esp_signing_jobs(signing, {{"esp", "EFI/BOOT/BOOTX64.EFI"}}, "", last, report);
    const PreparedRequest sign = jobs[0].prepare();
    const fs::path output = sign.fd_paths.back();
    write(output, "MZ signed");
    const base::UniqueFd copy(::open(output.c_str(), O_RDONLY | O_CLOEXEC));
    const std::string sha256 = sha256_of_fd(copy.get(), output.string());
    jobs[0].on_success(signed_outcome(mode == "other sha256" ? std::string(64, '0') : sha256));
    if (mode == "refused") {
      try {
        jobs[1].on_success(verified_outcome(false, "Signature verification failed"));
        ADD_FAILURE() << "a refused signature was put in place";
      } catch (const base::Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("sbverify refused the signed " + boot.string() +
                                        ": Signature verification failed"));
      }
    } else if (mode == "other sha256") {
      EXPECT_THROW(jobs[1].on_success(verified_outcome(true, "")), base::Error);
    } else {
      jobs[1].on_success(verified_outcome(true, ""));
    }
    EXPECT_EQ(read(boot), mode == "good" ? "MZ signed" : "MZ loader") << mode;
    EXPECT_EQ(report.signed_count, mode == "good" ? 1u : 0u) << mode;
  }
}

TEST(SecureBootKeys, TheDbCertificateIsReadWithoutFollowingALink) {
  tests::TempDir dir;
  write(dir.path() / "DB.cer", std::string("\x30\x82\x01\x00", 4));
  EXPECT_EQ(read_db_certificate(dir.path() / "DB.cer"), std::string("\x30\x82\x01\x00", 4));
  fs::create_symlink(dir.path() / "DB.cer", dir.path() / "link.cer");
  EXPECT_THROW(read_db_certificate(dir.path() / "link.cer"), base::Error);
  EXPECT_THROW(read_db_certificate(dir.path() / "absent.cer"), base::Error);
}

}  // namespace
}  // namespace supervisor
