#include "stages/verifier/rpm/repository_check.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "base/error.hpp"
#include "ipc/error_codec.hpp"
#include "ipc/framing.hpp"
#include "stages/verifier/error_of_test.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "stages/verifier/rpm/repository_check_test_repo.hpp"

namespace stage::verifier::rpm {
namespace {

using ::testing::HasSubstr;
using testing::TinyRepo;
using tests::debrepo::TempDir;

constexpr const char* kRepo = "oic-rpm";

using test::error_of;

base::UniqueFd open_read(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << file;
  return fd;
}

ReleaseRequest request_with(const std::vector<std::filesystem::path>& keys, std::string pin = {}) {
  ReleaseRequest request;
  request.repository = kRepo;
  for (const auto& key : keys) request.keys.push_back({key.string(), read_file_bytes(key), pin});
  return request;
}

class RpmRepository : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    for (const std::string compress : {"gz", "xz", "zst"}) {
      repos_[compress] = testing::make_tiny_repo(dir_->path() / compress, compress);
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static const TinyRepo& repo(const std::string& compress) { return repos_.at(compress); }
  static Repomd repomd_of(const TinyRepo& r) { return parse_repomd(read_file_bytes(r.repomd()), "repomd.xml"); }
  static std::filesystem::path scratch(const std::string& name) { return dir_->path() / name; }

  static TempDir* dir_;
  static std::map<std::string, TinyRepo> repos_;
};
TempDir* RpmRepository::dir_ = nullptr;
std::map<std::string, TinyRepo> RpmRepository::repos_;

TEST_F(RpmRepository, AcceptsASignedRepomdNamingTheSigner) {
  const TinyRepo& r = repo("xz");
  const auto verified = verify_repomd(read_file_bytes(r.repomd()), read_file_bytes(r.asc()),
                                      request_with({r.key()}, r.fingerprint()));
  EXPECT_EQ(verified.signer_fingerprint, r.fingerprint());
  EXPECT_NE(verified.repomd.find_location(r.relative("primary")), nullptr);
}

TEST_F(RpmRepository, RefusesASignatureByAnotherKey) {
  const TinyRepo& r = repo("xz");
  const std::string message = error_of([&] {
    verify_repomd(read_file_bytes(r.repomd()), read_file_bytes(r.other_asc()), request_with({r.key()}));
  });
  EXPECT_THAT(message, HasSubstr(kRepo));
  EXPECT_THAT(message, HasSubstr("repomd.xml.asc"));
  // Importing the other key does not help when the pin names the repository's.
  EXPECT_THAT(error_of([&] {
                verify_repomd(read_file_bytes(r.repomd()), read_file_bytes(r.other_asc()),
                              request_with({r.other_key()}, r.fingerprint()));
              }),
              HasSubstr(kRepo));
}

TEST_F(RpmRepository, RefusesARepomdChangedAfterSigning) {
  const TinyRepo& r = repo("xz");
  std::string xml = read_file_bytes(r.repomd());
  xml.insert(xml.find("</repomd>"), " ");
  EXPECT_THAT(error_of([&] { verify_repomd(xml, read_file_bytes(r.asc()), request_with({r.key()})); }),
              HasSubstr(kRepo));
}

TEST_F(RpmRepository, AcceptsAnUnsignedRepomdWhenNoSignatureIsAsked) {
  const TinyRepo& r = repo("xz");
  const auto verified = verify_repomd(read_file_bytes(r.repomd()), std::nullopt, request_with({}));
  EXPECT_EQ(verified.signer_fingerprint, "");
  EXPECT_FALSE(verified.repomd.data.empty());
}

TEST_F(RpmRepository, RefusesASignatureWithoutAKey) {
  const TinyRepo& r = repo("xz");
  EXPECT_THAT(error_of([&] { verify_repomd(read_file_bytes(r.repomd()), read_file_bytes(r.asc()), request_with({})); }),
              HasSubstr("repomd.xml of repository 'oic-rpm': repomd.xml.asc is given but the repository has no key"));
}

TEST_F(RpmRepository, RefusesAPrimaryWithAFlippedByteNamingIt) {
  const TinyRepo& r = repo("gz");
  const std::string path = r.relative("primary");
  std::string bytes = read_file_bytes(r.repo() / path);
  bytes[bytes.size() / 2] ^= 0x01;
  const auto flipped = scratch("flipped.gz");
  std::ofstream(flipped, std::ios::binary) << bytes;
  IndexInput index{path, open_read(flipped), {}, {}};
  const std::string message = error_of([&] { check_repomd_index(repomd_of(r), index, kRepo); });
  EXPECT_THAT(message, HasSubstr("index '" + path + "' of repository 'oic-rpm'"));
  EXPECT_THAT(message, HasSubstr("expected SHA256"));
}

TEST_F(RpmRepository, RefusesAnIndexRepomdDoesNotList) {
  const TinyRepo& r = repo("gz");
  IndexInput index{"repodata/unlisted-primary.xml.gz", open_read(r.repo() / r.relative("primary")), {}, {}};
  EXPECT_THAT(error_of([&] { check_repomd_index(repomd_of(r), index, kRepo); }),
              HasSubstr("index 'repodata/unlisted-primary.xml.gz' of repository 'oic-rpm': repomd.xml does not list it"));
}

// Each compression is decompressed once, checked against open-checksum and
// open-size, and written out; a matching cached copy is used instead.
TEST_F(RpmRepository, DecompressesGzXzAndZstAgainstTheOpenChecksum) {
  for (const std::string compress : {"gz", "xz", "zst"}) {
    SCOPED_TRACE(compress);
    const TinyRepo& r = repo(compress);
    const std::string path = r.relative("primary");
    ASSERT_TRUE(path.ends_with("." + compress)) << path;
    const Repomd repomd = repomd_of(r);
    const RepomdData& entry = *repomd.find_location(path);
    const auto out_file = scratch("primary-" + compress + ".xml");
    IndexInput index{path, open_read(r.repo() / path),
                     base::UniqueFd(::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)), {}};
    const VerifiedIndex checked = check_repomd_index(repomd, index, kRepo);
    EXPECT_EQ(checked.uncompressed, IndexText::Source::kDecompressed);
    EXPECT_EQ(checked.digest.sha256, entry.checksum.sha256);
    ASSERT_TRUE(checked.uncompressed_listed.has_value());
    EXPECT_EQ(checked.uncompressed_listed->sha256, entry.open->sha256);
    const Digest written = sha256_of_file(out_file);
    EXPECT_EQ(written.sha256, entry.open->sha256);
    EXPECT_EQ(written.size, entry.open->size);

    IndexInput cached{path, open_read(r.repo() / path), {}, open_read(out_file)};
    EXPECT_EQ(check_repomd_index(repomd, cached, kRepo).uncompressed, IndexText::Source::kCached);
  }
}

TEST_F(RpmRepository, RefusesDecompressedTextThatDoesNotMatchTheOpenChecksum) {
  const TinyRepo& r = repo("gz");
  const std::string path = r.relative("primary");
  Repomd repomd = repomd_of(r);
  for (auto& data : repomd.data) {
    if (data.location == path) data.open->sha256 = std::string(64, '0');
  }
  IndexInput index{path, open_read(r.repo() / path), {}, {}};
  const std::string message = error_of([&] { check_repomd_index(repomd, index, kRepo); });
  EXPECT_THAT(message, HasSubstr(path.substr(0, path.size() - 3)));
  EXPECT_THAT(message, HasSubstr("expected SHA256 " + std::string(64, '0')));
}

// The stage end to end: an rpm repository in a VerifierRequest, through the
// stage harness, gives the signer, the revision and every <data> entry.
ipc::proto::VerifierResult::Reader run_stage(const TinyRepo& r, bool signed_repomd, capnp::MallocMessageBuilder& reply_store,
                                             std::string& error) {
  int pair[2];
  base::check_syscall(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair");
  base::UniqueFd supervisor(pair[0]), stage(pair[1]);
  auto exit_code = std::async(std::launch::async, [&] {
    return ipc::serve_stage_request(stage.get(), ipc::proto::StageKind::VERIFIER, run_request);
  });
  std::vector<base::UniqueFd> fds;
  std::vector<int> raw;
  auto slot = [&](const std::filesystem::path& file) {
    fds.push_back(open_read(file));
    raw.push_back(fds.back().get());
    return static_cast<int>(raw.size() - 1);
  };
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::Message>().initRequest();
  auto repository = request.initVerifier().initRepositories(1)[0];
  repository.setName(kRepo);
  auto rpm = repository.initRpm();
  rpm.initRepomd().setSlot(slot(r.repomd()));
  if (signed_repomd) rpm.initRepomdSignature().setSlot(slot(r.asc()));
  auto key = repository.initKeys(1)[0];
  key.initFile().setSlot(slot(r.key()));
  key.setFingerprint(r.fingerprint());
  auto index = repository.initIndexFiles(1)[0];
  index.setRelativePath(r.relative("primary"));
  index.initFile().setSlot(slot(r.repo() / r.relative("primary")));
  request.setFdCount(static_cast<std::uint32_t>(raw.size()));
  ipc::send_message(supervisor.get(), message, raw);

  std::vector<ipc::ReceivedMessage> messages;
  ipc::Phase phase = ipc::Phase::kSupervisorRunning;
  while (phase != ipc::Phase::kSupervisorFinished) {
    messages.push_back(ipc::receive_message(supervisor.get()));
    phase = ipc::validate_message(messages.back().message(), phase, ipc::proto::StageKind::VERIFIER,
                                  messages.back().fds.size());
  }
  exit_code.get();
  const auto last = messages.back().message();
  if (last.isError()) {
    error = ipc::decode_error(last.getError(), "verifier").what();
    return {};
  }
  reply_store.setRoot(last.getResult().getVerifier());
  return reply_store.getRoot<ipc::proto::VerifierResult>().asReader();
}

TEST_F(RpmRepository, TheStageVerifiesAnRpmRepositoryAndListsItsFiles) {
  const TinyRepo& r = repo("xz");
  const Repomd repomd = repomd_of(r);
  for (const bool signed_repomd : {true, false}) {
    SCOPED_TRACE(signed_repomd);
    capnp::MallocMessageBuilder store;
    std::string error;
    const auto result = run_stage(r, signed_repomd, store, error);
    ASSERT_EQ(error, "");
    ASSERT_EQ(result.getVerifiedRepos().size(), 1u);
    const auto verified = result.getVerifiedRepos()[0];
    EXPECT_EQ(verified.getSignerFingerprint(), signed_repomd ? r.fingerprint() : "");
    EXPECT_EQ(std::to_string(verified.getDate()), repomd.revision);
    ASSERT_EQ(verified.getListedFiles().size(), repomd.data.size());
    for (unsigned i = 0; i < repomd.data.size(); ++i) {
      const auto listed = verified.getListedFiles()[i];
      EXPECT_EQ(listed.getKind(), repomd.data[i].type);
      EXPECT_EQ(listed.getRelativePath(), repomd.data[i].location);
      EXPECT_EQ(listed.getSha256(), repomd.data[i].checksum.sha256);
      EXPECT_EQ(listed.getUncompressedSize(), repomd.data[i].open->size);
    }
    ASSERT_EQ(result.getVerifiedIndexes().size(), 1u);
    EXPECT_EQ(result.getVerifiedIndexes()[0].getUncompressedSha256(),
              repomd.find_location(r.relative("primary"))->open->sha256);
  }
}

TEST_F(RpmRepository, TheStageRefusesARepomdSignedByAnotherKeyNamingTheRepository) {
  const TinyRepo& r = repo("gz");
  const auto copy = scratch("other-signed");
  std::filesystem::copy(r.root, copy, std::filesystem::copy_options::recursive);
  std::filesystem::copy_file(r.other_asc(), copy / "repo/repodata/repomd.xml.asc",
                             std::filesystem::copy_options::overwrite_existing);
  capnp::MallocMessageBuilder store;
  std::string error;
  run_stage(TinyRepo{copy}, true, store, error);
  EXPECT_THAT(error, HasSubstr(kRepo));
  EXPECT_THAT(error, HasSubstr("repomd.xml.asc"));
}

}  // namespace
}  // namespace stage::verifier::rpm
