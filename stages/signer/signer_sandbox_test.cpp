// The real stage-signer, sandboxed as in a build (its policy, no network
// namespace of the host's, only its binary and the request's files bound):
// it signs with a throw-away key, gpg-agent and all, inside its sandbox;
// it cannot open a host path it was not given; and a probe under its policy
// reaches neither the network nor the caller's home.
// Run as an unprivileged user with an /etc/subuid range (or as root).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "sandbox/testing/probe_run.hpp"
#include "stages/signer/policy.hpp"
#include "stages/signer/signing.hpp"
#include "tests/support/gtest_run.hpp"
#include "tests/support/openpgp_keys.hpp"

namespace stage::signer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kStageInSandbox = "/run/oic/stage-signer";
constexpr std::string_view kSums = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  img.raw\n";

// A scratch directory under /var/tmp: the sandbox has a /tmp of its own, so
// what it is given must live elsewhere to be bound at the same path.
class VarTmpDir {
 public:
  VarTmpDir() {
    std::string pattern = "/var/tmp/oic-signer-sandbox-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~VarTmpDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }
  std::string read(const std::string& name) const { return tests::support::read_whole_file(path_ / name); }

 private:
  fs::path path_;
};

class SignerSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    stage_ = std::getenv("OIC_SIGNER_STAGE") ? std::getenv("OIC_SIGNER_STAGE") : "";
    ASSERT_FALSE(stage_.empty()) << "OIC_SIGNER_STAGE must name the stage-signer binary";
    tests::support::make_openpgp_keys(base_.path() / "keys");
    base_.write("SHA256SUMS", std::string(kSums));
  }

  // `bound`: the host paths the stage sees (read-only, at the same path).
  sandbox::testing::ProbeRun run_stage(const nlohmann::json& request, const std::vector<fs::path>& bound) {
    const fs::path file = base_.write("request.json", request.dump(1));
    sandbox::SandboxSpec spec =
        sandbox::make_spec(signer_policy(), kStageInSandbox, {kStageInSandbox, "--request", file.string()});
    spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, stage_, kStageInSandbox, {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, file.string(), file.string(), {}});
    for (const fs::path& path : bound) spec.mounts.push_back({sandbox::MountKind::kBindRo, path.string(), path.string(), {}});
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
  VarTmpDir base_;
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

// No network (TCP to 127.0.0.1 fails), no home, /etc/shadow, ptrace, mount.
TEST(SignerSandboxPolicy, ConfinesAProcessUnderItsPolicy) { sandbox::testing::expect_confined(signer_policy()); }

}  // namespace
}  // namespace stage::signer

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return tests::support::run_all_tests();
}
