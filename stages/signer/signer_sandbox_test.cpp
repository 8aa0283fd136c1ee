// The real stage-signer, sandboxed as in a build (its policy, no network
// namespace of the host's, only its binary and the request's files bound):
// it signs with a throw-away key, gpg-agent and all, inside its sandbox;
// it cannot open a host path it was not given; and a probe under its policy
// reaches neither the network nor the caller's home. For Secure Boot it
// signs an EFI binary with sbsign inside the sandbox (a throw-away DB key
// made by openssl) into the output file it is given, checks one with
// sbverify, and leaves no copy of the key where it worked.
// Run as an unprivileged user with an /etc/subuid range (or as root).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "sandbox/stage_owner.hpp"
#include "sandbox/testing/probe_run.hpp"
#include "stages/signer/efi_signing.hpp"
#include "stages/signer/policy.hpp"
#include "stages/signer/signing.hpp"
#include "tests/support/gtest_run.hpp"
#include "tests/support/openpgp_keys.hpp"
#include "tests/support/secure_boot_keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::signer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kStageInSandbox = "/run/oic/stage-signer";
constexpr std::string_view kSums = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  img.raw\n";

class SignerSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    stage_ = std::getenv("OIC_SIGNER_STAGE") ? std::getenv("OIC_SIGNER_STAGE") : "";
    ASSERT_FALSE(stage_.empty()) << "OIC_SIGNER_STAGE must name the stage-signer binary";
    tests::support::make_openpgp_keys(base_.path() / "keys");
    base_.write("SHA256SUMS", std::string(kSums));
  }

  // `bound`: the host paths the stage sees (read-only, at the same path);
  // `writable`: directories it may write (read-write, at the same path).
  sandbox::testing::ProbeRun run_stage(const nlohmann::json& request, const std::vector<fs::path>& bound,
                                       const std::vector<fs::path>& writable = {},
                                       const std::vector<std::string>& env = {}) {
    const fs::path file = base_.write("request.json", request.dump(1));
    sandbox::SandboxSpec spec =
        sandbox::make_spec(signer_policy(), kStageInSandbox, {kStageInSandbox, "--request", file.string()});
    spec.env.insert(spec.env.end(), env.begin(), env.end());
    spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, stage_, kStageInSandbox, {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, file.string(), file.string(), {}});
    for (const fs::path& path : bound) spec.mounts.push_back({sandbox::MountKind::kBindRo, path.string(), path.string(), {}});
    for (const fs::path& path : writable) {
      spec.mounts.push_back({sandbox::MountKind::kBindRw, path.string(), path.string(), {}});
    }
    return sandbox::testing::run(std::move(spec));
  }

  nlohmann::json sign_request(const fs::path& key) const {
    return {{"signer",
             {{"signDetached",
               {{"key", {{"path", key.string()}}},
                {"keyName", key.string()},
                {"file", {{"path", (base_.path() / "SHA256SUMS").string()}}},
                {"fileName", "SHA256SUMS"}}}}}};
  }

  std::string stage_;
  tests::TempDir base_{"oic-signer-sandbox", "/var/tmp"};  // not /tmp: the sandbox has its own
};

TEST_F(SignerSandbox, SignsInsideItsSandboxAndTheSignatureChecksOut) {
  const fs::path key = base_.path() / "keys/a.sec";
  const auto ran = run_stage(sign_request(key), {key, base_.path() / "SHA256SUMS"});
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const nlohmann::json result = nlohmann::json::parse(ran.out);
  const std::string signature = result["signer"]["signDetached"]["signature"];
  EXPECT_EQ(result["signer"]["signDetached"]["fingerprint"].get<std::string>() + "\n", base_.read("keys/a.fpr"));
  const VerifyOutcome outcome =
      verify_detached({"a.pub", base_.read("keys/a.pub")}, kSums, signature, "SHA256SUMS");
  EXPECT_TRUE(outcome.good) << outcome.problem;
}

TEST_F(SignerSandbox, CannotOpenAHostPathItWasNotGiven) {
  // The key exists on the host, but only SHA256SUMS is bound into the sandbox.
  const fs::path key = base_.path() / "keys/a.sec";
  const auto ran = run_stage(sign_request(key), {base_.path() / "SHA256SUMS"});
  EXPECT_FALSE(ran.succeeded()) << ran.describe();
  EXPECT_THAT(ran.err, HasSubstr(key.string()));
  EXPECT_THAT(ran.err, HasSubstr("No such file or directory"));
  EXPECT_TRUE(ran.out.empty()) << ran.out;
}

TEST_F(SignerSandbox, RefusesAPassphraseKeyNamingItInsideTheSandbox) {
  const fs::path key = base_.path() / "keys/p.sec";
  const auto ran = run_stage(sign_request(key), {key, base_.path() / "SHA256SUMS"});
  EXPECT_FALSE(ran.succeeded()) << ran.describe();
  EXPECT_THAT(ran.err, HasSubstr("'" + key.string() + "': the key is protected by a passphrase"));
}

fs::path make_writable_dir(const fs::path& dir) {
  fs::create_directories(dir);
  sandbox::give_to_stage_root(dir);
  return dir;
}

// A file under `dir` that holds a line of the PEM key's body, or "".
std::string file_with_key_bytes(const fs::path& dir, const std::string& key_pem) {
  const std::size_t start = key_pem.find('\n') + 1;
  const std::string line = key_pem.substr(start, key_pem.find('\n', start) - start);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    if (tests::support::read_whole_file(entry.path()).find(line) != std::string::npos) return entry.path().string();
  }
  return "";
}

// Secure Boot: the key, the certificate and the EFI binary bound read-only;
// the output's directory and the stage's temp directory (TMPDIR, where
// sbsign's copies are made) bound read-write so the test can look at what
// is left there.
class SignerSandboxEfi : public SignerSandbox {
 protected:
  void SetUp() override {
    SignerSandbox::SetUp();
    tests::support::make_secure_boot_files(sb());
    // The stage opens these by path here (a build's supervisor passes fds):
    // run by root, the stage is a subordinate uid, and openssl makes keys 0600.
    for (const auto& entry : fs::directory_iterator(sb())) sandbox::give_to_stage_root(entry.path());
    make_writable_dir(out());
    make_writable_dir(work());
  }
  fs::path sb() const { return base_.path() / "sb"; }
  fs::path out() const { return base_.path() / "out"; }
  fs::path work() const { return base_.path() / "work"; }

  sandbox::testing::ProbeRun sign(const std::string& key, const std::string& cert) {
    const nlohmann::json request = {
        {"signer",
         {{"signEfi",
           {{"key", {{"path", (sb() / key).string()}}},
            {"keyName", (sb() / key).string()},
            {"certificate", {{"path", (sb() / cert).string()}}},
            {"certName", (sb() / cert).string()},
            {"file", {{"path", (sb() / "app.efi").string()}}},
            {"fileName", "EFI/BOOT/BOOTX64.EFI"},
            {"output", {{"path", (out() / "BOOTX64.EFI").string()}, {"writable", true}}}}}}}};
    return run_stage(request, {sb()}, {out(), work()}, {"TMPDIR=" + work().string()});
  }

  sandbox::testing::ProbeRun verify(const std::string& cert, const fs::path& binary) {
    const nlohmann::json request = {{"signer",
                                     {{"verifyEfi",
                                       {{"certificate", {{"path", (sb() / cert).string()}}},
                                        {"certName", cert},
                                        {"file", {{"path", binary.string()}}},
                                        {"fileName", "EFI/BOOT/BOOTX64.EFI"}}}}}};
    return run_stage(request, {sb(), binary.parent_path()}, {work()}, {"TMPDIR=" + work().string()});
  }

  int host_sbverify(const std::string& cert, const fs::path& binary) {
    return tests::support::run_program({"/usr/bin/sbverify", "--cert", (sb() / cert).string(), binary.string()},
                                       {{"PATH", "/usr/bin"}}, base_.path() / ".run")
        .exit_code;
  }

  // Nothing in the directories the stage could write holds a byte of the key.
  void expect_no_key_left() {
    EXPECT_TRUE(fs::is_empty(work())) << "sbsign's copies were left in the stage's temp directory";
    const std::string key_pem = base_.read("sb/db.key");
    EXPECT_EQ(file_with_key_bytes(work(), key_pem), "");
    EXPECT_EQ(file_with_key_bytes(out(), key_pem), "");
    EXPECT_EQ(base_.read("request.json").find("PRIVATE KEY"), std::string::npos);
  }
};

std::uint64_t json_u64(const nlohmann::json& value) {
  return value.is_string() ? std::stoull(value.get<std::string>()) : value.get<std::uint64_t>();
}

TEST_F(SignerSandboxEfi, SignsAnEfiBinaryAndOnlyItsCertificateAcceptsIt) {
  const auto ran = sign("db.key", "db.crt");
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const nlohmann::json result = nlohmann::json::parse(ran.out)["signer"]["signEfi"];
  const fs::path output = out() / "BOOTX64.EFI";
  EXPECT_EQ(json_u64(result["size"]), fs::file_size(output));
  const auto sum = tests::support::run_program({"/usr/bin/sha256sum", output.string()}, {}, base_.path() / ".run");
  EXPECT_EQ(result["sha256"].get<std::string>(), sum.out.substr(0, 64));
  EXPECT_EQ(host_sbverify("db.crt", output), 0);
  EXPECT_NE(host_sbverify("other.crt", output), 0);
  EXPECT_NE(host_sbverify("db.crt", sb() / "app.efi"), 0);  // the input was not changed in place
  expect_no_key_left();
}

TEST_F(SignerSandboxEfi, VerifiesAnEfiBinaryAndReportsAFlippedByte) {
  const auto signed_efi = sign_efi({"db.key", base_.read("sb/db.key")}, {"db.crt", base_.read("sb/db.crt")},
                                   base_.read("sb/app.efi"), "BOOTX64.EFI");
  const fs::path good = base_.write("check/good.efi", signed_efi.bytes);
  std::string changed = signed_efi.bytes;
  changed[changed.size() / 4] ^= 0x01;
  const fs::path bad = base_.write("check/bad.efi", changed);

  const auto accepted = verify("db.crt", good);
  ASSERT_TRUE(accepted.succeeded()) << accepted.describe();
  EXPECT_TRUE(nlohmann::json::parse(accepted.out)["signer"]["verifyEfi"]["good"].get<bool>()) << accepted.out;

  for (const auto& [cert, file] : {std::pair{"db.crt", bad}, std::pair{"other.crt", good}}) {
    const auto refused = verify(cert, file);
    ASSERT_TRUE(refused.succeeded()) << refused.describe();  // a failed check is a result
    const nlohmann::json result = nlohmann::json::parse(refused.out)["signer"]["verifyEfi"];
    EXPECT_FALSE(result.value("good", false)) << cert << " " << file;
    EXPECT_THAT(result["problem"].get<std::string>(), HasSubstr("refused 'EFI/BOOT/BOOTX64.EFI'"));
  }
  EXPECT_TRUE(fs::is_empty(work()));
}

TEST_F(SignerSandboxEfi, AKeyThatDoesNotMatchTheCertificateIsAClearError) {
  const auto ran = sign("other.key", "db.crt");
  EXPECT_FALSE(ran.succeeded()) << ran.describe();
  EXPECT_THAT(ran.err, HasSubstr("Failed to sign the EFI binary 'EFI/BOOT/BOOTX64.EFI'"));
  EXPECT_THAT(ran.err, HasSubstr("the key file '" + (sb() / "other.key").string() + "' does not match the certificate '" +
                                 (sb() / "db.crt").string() + "'"));
  EXPECT_TRUE(ran.out.empty()) << ran.out;
  const fs::path output = out() / "BOOTX64.EFI";
  EXPECT_TRUE(!fs::exists(output) || fs::file_size(output) == 0) << "a signed binary was written after a failure";
  expect_no_key_left();
  EXPECT_EQ(file_with_key_bytes(work(), base_.read("sb/other.key")), "");
}

// No network (TCP to 127.0.0.1 fails), no home, /etc/shadow, ptrace, mount.
TEST(SignerSandboxPolicy, ConfinesAProcessUnderItsPolicy) { sandbox::testing::expect_confined(signer_policy()); }

}  // namespace
}  // namespace stage::signer

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return tests::support::run_all_tests();
}
