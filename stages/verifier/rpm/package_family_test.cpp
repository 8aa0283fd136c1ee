// The stage end to end with packageFamily rpm: the request's per-repository
// keys reach the header signature check, a package without keys for its
// repository is refused, and with checkArchiveContents a package refused by
// the header-based file-list check is listed while the others pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <future>

#include "base/error.hpp"
#include "ipc/error_codec.hpp"
#include "stages/verifier/checksums.hpp"
#include "stages/verifier/rpm/package_check_test_repo.hpp"
#include "stages/verifier/verifier_stage.hpp"

namespace stage::verifier::rpm {
namespace {

using base::UniqueFd;
using ipc::proto::StageKind;
using ipc::proto::VerifierRequest;
using test::fixture;
using test::kRepoName;
using test::RpmRepo;
using ::testing::HasSubstr;

struct Spec {
  const RpmRepo* repo = nullptr;
  std::vector<std::string> files;          // .rpm file names in repo
  std::filesystem::path key;               // the keys given for kRepoName
  std::string keys_repo = kRepoName;
  bool check_contents = false;
};

struct StageRun {
  ipc::ReceivedMessage last;
  bool succeeded() const { return last.message().isResult(); }
  ipc::proto::VerifierResult::Reader result() const { return last.message().getResult().getVerifier(); }
  std::string error() const { return ipc::decode_error(last.message().getError(), "verifier").what(); }
};

void fill_request(VerifierRequest::Builder out, const Spec& spec, std::vector<UniqueFd>& fds) {
  auto slot = [&](const std::filesystem::path& file) {
    fds.push_back(test::open_rpm(file));
    return static_cast<std::uint32_t>(fds.size() - 1);
  };
  auto packages = out.initPackages(static_cast<unsigned>(spec.files.size()));
  for (unsigned i = 0; i < spec.files.size(); ++i) {
    const auto file = spec.repo->rpm(spec.files[i]);
    const Digest digest = sha256_of_file(file);
    packages[i].setName(spec.files[i]);
    packages[i].setRepo(kRepoName);
    packages[i].initFile().setSlot(slot(file));
    packages[i].setExpectedSha256(digest.sha256);
    packages[i].setExpectedSize(static_cast<std::int64_t>(digest.size));
  }
  auto keys = out.initPackageFamily().initRpm(1)[0];
  keys.setRepo(spec.keys_repo);
  keys.initKeys(1)[0].initFile().setSlot(slot(spec.key));
  out.setCheckArchiveContents(spec.check_contents);
}

// Plays the supervisor over a socketpair, as verifier_stage_test does.
StageRun run_verifier(const Spec& spec) {
  int pair[2];
  base::check_syscall(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair");
  UniqueFd supervisor(pair[0]), stage(pair[1]);
  auto exit_code = std::async(std::launch::async,
                              [&] { return ipc::serve_stage_request(stage.get(), StageKind::VERIFIER, run_request); });
  std::vector<UniqueFd> fds;
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::Message>().initRequest();
  fill_request(request.initVerifier(), spec, fds);
  std::vector<int> raw;
  for (const auto& fd : fds) raw.push_back(fd.get());
  request.setFdCount(static_cast<std::uint32_t>(raw.size()));
  ipc::send_message(supervisor.get(), message, raw);
  std::optional<ipc::ReceivedMessage> last;
  for (auto phase = ipc::Phase::kSupervisorRunning; phase != ipc::Phase::kSupervisorFinished;) {
    last.emplace(ipc::receive_message(supervisor.get()));
    phase = ipc::validate_message(last->message(), phase, StageKind::VERIFIER, last->fds.size());
  }
  exit_code.get();
  return StageRun{std::move(*last)};
}

TEST(RpmPackageFamily, VerifiesSignedPackagesWithTheirRepositoryKeys) {
  const auto& repo = fixture("");
  const StageRun run = run_verifier({.repo = &repo, .files = repo.rpms(), .key = repo.key(), .check_contents = true});
  ASSERT_TRUE(run.succeeded()) << run.error();
  EXPECT_EQ(run.result().getVerifiedPackages().size(), repo.rpms().size());
  EXPECT_EQ(run.result().getFailures().size(), 0u);
}

TEST(RpmPackageFamily, RefusesAPackageSignedByAnotherKeyOrWithoutKeys) {
  const auto& repo = fixture("--other-key-rpm");
  const std::string victim = repo.victim().filename().string();
  StageRun run = run_verifier({.repo = &repo, .files = {victim}, .key = repo.key()});
  ASSERT_FALSE(run.succeeded());
  EXPECT_THAT(run.error(), HasSubstr("package '" + victim + "' from repository 'oic-rpm'"));
  EXPECT_THAT(run.error(), HasSubstr("NO_PUBKEY"));
  run = run_verifier({.repo = &repo, .files = {victim}, .key = repo.other_key(), .keys_repo = "elsewhere"});
  ASSERT_FALSE(run.succeeded());
  EXPECT_THAT(run.error(), HasSubstr("names no keys for repository 'oic-rpm'"));
}

TEST(RpmPackageFamily, ListsPackagesRefusedByTheFileListCheck) {
  const auto& repo = fixture("--dev-entry");
  const StageRun run = run_verifier({.repo = &repo, .files = repo.rpms(), .key = repo.key(), .check_contents = true});
  ASSERT_TRUE(run.succeeded()) << run.error();
  ASSERT_EQ(run.result().getFailures().size(), 1u);
  EXPECT_THAT(std::string(run.result().getFailures()[0].getReason()), HasSubstr("character device"));
  EXPECT_EQ(run.result().getVerifiedPackages().size(), repo.rpms().size() - 1);
}

}  // namespace
}  // namespace stage::verifier::rpm
