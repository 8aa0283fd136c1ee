#include "stages/verifier/verifier_stage.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <future>
#include <set>

#include "base/error.hpp"
#include "ipc/error_codec.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using ipc::proto::StageKind;
using ipc::proto::VerifierRequest;
using base::UniqueFd;
using ::testing::HasSubstr;
using tests::debrepo::DebRepo;
using tests::debrepo::TempDir;

constexpr const char* kRepoName = "oic-main";

struct RepoSpec {
  const DebRepo* repo = nullptr;
  std::string name = kRepoName;
  std::string suite = "oic-stable";
  std::vector<std::string> architectures = {"amd64"};
  bool detached = false;
  bool armored_key = true;
  std::string pin;  // fingerprint pin of the one key file
  bool with_key = true;
  std::vector<std::string> indexes = {"main/binary-amd64/Packages.xz",
                                      "main/binary-amd64/Packages.gz",
                                      "main/binary-amd64/Packages"};
};

struct Spec {
  std::vector<RepoSpec> repos;
  const DebRepo* package_repo = nullptr;  // where `packages` come from
  std::vector<std::string> packages;
  bool check_contents = true;
  std::int64_t check_time = -1;
  // Last change to the request before it is sent.
  std::function<void(VerifierRequest::Builder)> tweak;
};

// Everything the stage sent back for one request.
struct StageRun {
  std::vector<ipc::ReceivedMessage> messages;
  int exit_code = -1;

  bool succeeded() const {
    return !messages.empty() && messages.back().message().isResult() && exit_code == 0;
  }
  ipc::proto::VerifierResult::Reader result() const {
    return messages.back().message().getResult().getVerifier();
  }
  base::Error error() const {
    EXPECT_TRUE(messages.back().message().isError());
    return ipc::decode_error(messages.back().message().getError(), "verifier");
  }
  std::set<std::string> finished_phases() const {
    std::set<std::string> phases;
    for (const auto& m : messages) {
      if (!m.message().isProgress()) continue;
      const auto p = m.message().getProgress();
      if (p.getFilesTotal() > 0 && p.getFilesDone() == p.getFilesTotal())
        phases.insert(p.getPhase());
    }
    return phases;
  }
};

// The fds of one request, in slot order.
class Slots {
 public:
  int add(const std::filesystem::path& file) {
    fds_.emplace_back(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(fds_.back().valid()) << file;
    raw_.push_back(fds_.back().get());
    return static_cast<int>(raw_.size() - 1);
  }
  const std::vector<int>& raw() const { return raw_; }

 private:
  std::vector<UniqueFd> fds_;
  std::vector<int> raw_;
};

PackageRecord record_of(const DebRepo& repo, std::string_view name) {
  for (auto& r : parse_packages(read_file_bytes(repo.packages_base()), "Packages")) {
    if (r.package == name) return r;
  }
  ADD_FAILURE() << "no package " << name << " in the fixture";
  return {};
}

void fill_repository(VerifierRequest::Repository::Builder out, const RepoSpec& spec, Slots& slots) {
  const DebRepo& repo = *spec.repo;
  out.setName(spec.name);
  auto deb = out.initDeb();
  deb.setSuite(spec.suite);
  auto archs = deb.initArchitectures(static_cast<unsigned>(spec.architectures.size()));
  for (unsigned i = 0; i < spec.architectures.size(); ++i) archs.set(i, spec.architectures[i]);
  deb.initComponents(1).set(0, "main");
  if (spec.detached) {
    auto detached = deb.getReleaseFiles().initDetached();
    detached.initRelease().setSlot(slots.add(repo.dist_dir() / "Release"));
    detached.initSignature().setSlot(slots.add(repo.dist_dir() / "Release.gpg"));
  } else {
    deb.getReleaseFiles().initInRelease().setSlot(slots.add(repo.dist_dir() / "InRelease"));
  }
  if (spec.with_key) {
    auto key = out.initKeys(1)[0];
    key.initFile().setSlot(slots.add(spec.armored_key ? repo.armored_keyring() : repo.keyring()));
    key.setFingerprint(spec.pin);
  }
  auto indexes = out.initIndexFiles(static_cast<unsigned>(spec.indexes.size()));
  for (unsigned i = 0; i < spec.indexes.size(); ++i) {
    indexes[i].setRelativePath(spec.indexes[i]);
    indexes[i].initFile().setSlot(slots.add(repo.dist_dir() / spec.indexes[i]));
  }
}

void fill_request(VerifierRequest::Builder out, const Spec& spec, Slots& slots) {
  auto repos = out.initRepositories(static_cast<unsigned>(spec.repos.size()));
  for (unsigned i = 0; i < spec.repos.size(); ++i) fill_repository(repos[i], spec.repos[i], slots);
  auto packages = out.initPackages(static_cast<unsigned>(spec.packages.size()));
  for (unsigned i = 0; i < spec.packages.size(); ++i) {
    const PackageRecord record = record_of(*spec.package_repo, spec.packages[i]);
    packages[i].setName(record.package);
    packages[i].setRepo(kRepoName);
    packages[i].initFile().setSlot(slots.add(spec.package_repo->root / record.filename));
    packages[i].setExpectedSha256(record.sha256);
    packages[i].setExpectedSize(static_cast<std::int64_t>(record.size));
  }
  out.setCheckArchiveContents(spec.check_contents);
  out.setCheckTime(spec.check_time);
  if (spec.tweak) spec.tweak(out);
}

// Plays the supervisor: the stage harness serves one end of a socketpair on
// another thread, the request and its fds go in through the other end.
StageRun run_verifier(const Spec& spec) {
  int pair[2];
  base::check_syscall(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair");
  UniqueFd supervisor(pair[0]), stage(pair[1]);
  auto exit_code = std::async(std::launch::async, [&] {
    return ipc::serve_stage_request(stage.get(), StageKind::VERIFIER, run_request);
  });

  Slots slots;
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::Message>().initRequest();
  fill_request(request.initVerifier(), spec, slots);
  request.setFdCount(static_cast<std::uint32_t>(slots.raw().size()));
  ipc::send_message(supervisor.get(), message, slots.raw());

  StageRun run;
  ipc::Phase phase = ipc::Phase::kSupervisorRunning;
  while (phase != ipc::Phase::kSupervisorFinished) {
    run.messages.push_back(ipc::receive_message(supervisor.get()));
    phase = ipc::validate_message(run.messages.back().message(), phase, StageKind::VERIFIER,
                                  run.messages.back().fds.size());
  }
  run.exit_code = exit_code.get();
  return run;
}

const std::vector<std::string> kAllPackages = {"base-tiny", "libfoo1", "foo-common", "foo",
                                               "bar",       "baz",     "oldfoo"};

class VerifierStage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    good_ = new DebRepo(
        tests::debrepo::make_debrepo(dir_->path() / "good", {"--valid-until", "future"}));
  }
  static void TearDownTestSuite() {
    delete good_;
    delete dir_;
  }
  static DebRepo make(const std::string& name, const std::vector<std::string>& options) {
    return tests::debrepo::make_debrepo(dir_->path() / name, options);
  }
  static RepoSpec good_repo() { return RepoSpec{.repo = good_, .pin = good_->fingerprint()}; }

  static TempDir* dir_;
  static DebRepo* good_;
};
TempDir* VerifierStage::dir_ = nullptr;
DebRepo* VerifierStage::good_ = nullptr;

TEST_F(VerifierStage, VerifiesAGoodRepositoryItsIndexesAndPackages) {
  const StageRun run =
      run_verifier({.repos = {good_repo()}, .package_repo = good_, .packages = kAllPackages});
  ASSERT_TRUE(run.succeeded()) << run.error().what();
  const auto result = run.result();

  ASSERT_EQ(result.getVerifiedRepos().size(), 1u);
  const auto repo = result.getVerifiedRepos()[0];
  EXPECT_EQ(repo.getName(), kRepoName);
  EXPECT_EQ(repo.getSignerFingerprint(), good_->fingerprint());
  EXPECT_EQ(repo.getSuite(), "oic-stable");
  EXPECT_EQ(repo.getCodename(), "oicbook");
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  EXPECT_GT(repo.getDate(), now - 3600);
  EXPECT_LE(repo.getDate(), now + 60);
  EXPECT_GT(repo.getValidUntil(), now + 29 * 86400);

  const Release release = parse_release(read_file_bytes(good_->dist_dir() / "Release"), "Release");
  // Every file the Release lists, with its hash: where the supervisor fetches
  // indexes by hash from. This fixture offers no by-hash copies.
  EXPECT_FALSE(repo.getAcquireByHash());
  ASSERT_EQ(repo.getListedFiles().size(), release.sha256.size());
  for (unsigned i = 0; i < release.sha256.size(); ++i) {
    EXPECT_EQ(repo.getListedFiles()[i].getRelativePath().cStr(), release.sha256[i].path);
    EXPECT_EQ(repo.getListedFiles()[i].getSha256().cStr(), release.sha256[i].sha256);
    EXPECT_EQ(repo.getListedFiles()[i].getSize(), release.sha256[i].size);
  }
  EXPECT_GT(release.sha256.size(), 0u);
  ASSERT_EQ(result.getVerifiedIndexes().size(), 3u);
  for (const auto index : result.getVerifiedIndexes()) {
    const ReleaseFile* listed = release.find_file(index.getRelativePath().cStr());
    ASSERT_NE(listed, nullptr) << index.getRelativePath().cStr();
    EXPECT_EQ(index.getRepo(), kRepoName);
    EXPECT_EQ(index.getSha256(), listed->sha256);
    EXPECT_EQ(index.getSize(), listed->size);
  }

  ASSERT_EQ(result.getVerifiedPackages().size(), kAllPackages.size());
  for (const auto package : result.getVerifiedPackages()) {
    const PackageRecord record = record_of(*good_, package.getName().cStr());
    EXPECT_EQ(package.getRepo(), kRepoName);
    EXPECT_EQ(package.getSha256(), record.sha256);
    EXPECT_EQ(package.getSize(), record.size);
  }
  EXPECT_EQ(result.getFailures().size(), 0u);
  EXPECT_EQ(run.finished_phases(), (std::set<std::string>{"verify-repos", "verify-packages"}));
}

TEST_F(VerifierStage, AcceptsDetachedSignatureBinaryKeyWithoutPinAndUnknownSizes) {
  RepoSpec repo{.repo = good_, .detached = true, .armored_key = false};
  const StageRun run = run_verifier(
      {.repos = {repo},
       .package_repo = good_,
       .packages = {"foo"},
       .tweak = [](VerifierRequest::Builder r) { r.getPackages()[0].setExpectedSize(-1); }});
  ASSERT_TRUE(run.succeeded()) << run.error().what();
  EXPECT_EQ(run.result().getVerifiedRepos()[0].getSignerFingerprint(), good_->fingerprint());
  EXPECT_EQ(run.result().getVerifiedPackages()[0].getSize(), record_of(*good_, "foo").size);
}

TEST_F(VerifierStage, PinsOnlyTheKeyFileThatCarriesThePin) {
  // Key files by path, as in a hand-written request file.
  const auto two_keys = [](const std::string& main_pin) {
    return [main_pin](VerifierRequest::Builder r) {
      auto keys = r.getRepositories()[0].initKeys(2);
      keys[0].initFile().setPath(good_->other_keyring().string());
      keys[0].setFingerprint(good_->other_fingerprint());
      keys[1].initFile().setPath(good_->keyring().string());
      keys[1].setFingerprint(main_pin);
    };
  };
  const RepoSpec repo{.repo = good_, .with_key = false};
  const StageRun unpinned = run_verifier({.repos = {repo}, .tweak = two_keys("")});
  ASSERT_TRUE(unpinned.succeeded()) << unpinned.error().what();
  EXPECT_EQ(unpinned.result().getVerifiedRepos()[0].getSignerFingerprint(), good_->fingerprint());

  const StageRun misplaced =
      run_verifier({.repos = {repo}, .tweak = two_keys(good_->other_fingerprint())});
  ASSERT_FALSE(misplaced.succeeded());
  EXPECT_THAT(misplaced.error().message(), HasSubstr("pinned"));
}

TEST_F(VerifierStage, RejectsTamperedIndexNamingItAndTheRepository) {
  const DebRepo tampered = make("flip-packages", {"--flip-packages"});
  const StageRun run = run_verifier({.repos = {RepoSpec{.repo = &tampered}}});
  ASSERT_FALSE(run.succeeded());
  const base::Error error = run.error();
  EXPECT_EQ(error.kind(), base::ErrorKind::kInvalidInput);
  EXPECT_THAT(error.message(), HasSubstr("index 'main/binary-amd64/Packages'"));
  EXPECT_THAT(error.message(), HasSubstr("repository 'oic-main'"));
  EXPECT_EQ(run.exit_code, 1);
}

// Repositories are checked in parallel; results and errors keep request order.
TEST_F(VerifierStage, SeveralRepositoriesKeepRequestOrderAndTheFirstFailureInItIsReported) {
  const DebRepo tampered = make("flip-packages-order", {"--flip-packages"});
  std::vector<RepoSpec> repos;
  for (const char* name : {"r1", "r2", "r3", "r4", "r5"}) repos.push_back(RepoSpec{.repo = good_, .name = name});
  const StageRun good = run_verifier({.repos = repos});
  ASSERT_TRUE(good.succeeded()) << good.error().what();
  std::vector<std::string> names;
  for (const auto repo : good.result().getVerifiedRepos()) names.push_back(repo.getName());
  EXPECT_EQ(names, (std::vector<std::string>{"r1", "r2", "r3", "r4", "r5"}));
  std::vector<std::string> index_repos;
  for (const auto index : good.result().getVerifiedIndexes()) index_repos.push_back(index.getRepo());
  EXPECT_EQ(index_repos, (std::vector<std::string>{"r1", "r1", "r1", "r2", "r2", "r2", "r3", "r3", "r3", "r4", "r4",
                                                   "r4", "r5", "r5", "r5"}));

  repos[2].repo = &tampered;
  repos[4].repo = &tampered;
  const StageRun bad = run_verifier({.repos = repos});
  ASSERT_FALSE(bad.succeeded());
  EXPECT_THAT(bad.error().message(), HasSubstr("repository 'r3'"));
}

TEST_F(VerifierStage, RejectsABadPackageHashNamingItAndTheRepository) {
  const DebRepo repo = make("flip-deb", {"--flip-deb"});
  const StageRun run = run_verifier(
      {.package_repo = &repo, .packages = {"base-tiny", "foo"}, .check_contents = false});
  ASSERT_FALSE(run.succeeded());
  const base::Error error = run.error();
  EXPECT_EQ(error.kind(), base::ErrorKind::kInvalidInput);
  for (const auto& s : {"package 'foo'", "repository 'oic-main'", "expected SHA256"}) {
    EXPECT_THAT(error.message(), HasSubstr(s));
  }
}

// Checking archive contents, each refused package is listed (so the caller
// can evict exactly those) and every other package is still checked.
TEST_F(VerifierStage, ListsEveryPackageRefusedByTheArchiveCheckAndAcceptsTheRest) {
  struct Case {
    const char* name;
    std::vector<std::string> options;
    std::string package;
    std::vector<std::string> substrings;
  };
  const Case cases[] = {
      {"flipped byte", {"--flip-deb"}, "foo", {"package 'foo'", "repository 'oic-main'", "expected SHA256"}},
      {"member escaping the root", {"--evil", "dotdot"}, "evil", {"package 'evil'", "'..' component"}},
      {"absolute member", {"--evil", "absolute"}, "evil", {"package 'evil'", "has an absolute name"}},
      {"symlink escape", {"--evil", "symlink"}, "evil", {"package 'evil'", "escapes through the symlink"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const DebRepo repo = make(c.options.front().substr(2) + "-" + c.options.back(), c.options);
    const StageRun run = run_verifier({.package_repo = &repo, .packages = {"base-tiny", c.package, "bar"}});
    ASSERT_TRUE(run.succeeded()) << run.error().what();
    const auto result = run.result();
    ASSERT_EQ(result.getFailures().size(), 1u);
    EXPECT_EQ(result.getFailures()[0].getItem(), c.package);
    for (const auto& s : c.substrings) EXPECT_THAT(result.getFailures()[0].getReason().cStr(), HasSubstr(s));
    std::set<std::string> accepted;
    for (const auto p : result.getVerifiedPackages()) accepted.insert(p.getName());
    EXPECT_EQ(accepted, (std::set<std::string>{"base-tiny", "bar"}));
  }
}

TEST_F(VerifierStage, SkipsArchiveContentsUnlessAsked) {
  const DebRepo repo = make("evil-unchecked", {"--evil", "absolute"});
  const StageRun run =
      run_verifier({.package_repo = &repo, .packages = {"evil"}, .check_contents = false});
  EXPECT_TRUE(run.succeeded()) << run.error().what();
}

TEST_F(VerifierStage, RejectsReleasesThatDoNotMatchTheRequest) {
  struct Case {
    const char* name;
    std::function<void(RepoSpec&, Spec&)> change;
    std::string substring;
  };
  const Case cases[] = {
      {"another suite", [](RepoSpec& r, Spec&) { r.suite = "oic-testing"; },
       "not the requested 'oic-testing'"},
      {"an unlisted architecture",
       [](RepoSpec& r, Spec&) {
         r.architectures = {"amd64", "arm64"};
       },
       "architecture 'arm64'"},
      {"a key pinned to another fingerprint",
       [](RepoSpec& r, Spec&) { r.pin = good_->other_fingerprint(); }, "pinned"},
      {"no key", [](RepoSpec& r, Spec&) { r.with_key = false; }, "no keyring"},
      {"a check time past Valid-Until",
       [](RepoSpec&, Spec& s) { s.check_time = 4102444800; },  // 2100
       "expired"},
      {"an index the Release does not list",
       [](RepoSpec&, Spec& s) {
         s.tweak = [](VerifierRequest::Builder r) {
           r.getRepositories()[0].getIndexFiles()[0].setRelativePath(
               "main/binary-i386/Packages.xz");
         };
       },
       "index 'main/binary-i386/Packages.xz'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RepoSpec repo = good_repo();
    Spec spec;
    c.change(repo, spec);
    spec.repos = {repo};
    const StageRun run = run_verifier(spec);
    ASSERT_FALSE(run.succeeded());
    const base::Error error = run.error();
    EXPECT_EQ(error.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(error.message(), HasSubstr("repository 'oic-main'"));
    EXPECT_THAT(error.message(), HasSubstr(c.substring));
  }
}

TEST_F(VerifierStage, RejectsMalformedRequestFields) {
  struct Case {
    const char* name;
    std::function<void(VerifierRequest::Builder)> tweak;
    std::string substring;
  };
  const Case cases[] = {
      {"upper-case hash",
       [](VerifierRequest::Builder r) {
         auto p = r.getPackages()[0];
         std::string sha = p.getExpectedSha256().cStr();
         for (auto& ch : sha) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
         p.setExpectedSha256(sha);
       },
       "expectedSha256"},
      {"negative size", [](VerifierRequest::Builder r) { r.getPackages()[0].setExpectedSize(-2); },
       "expectedSize"},
      {"nameless package", [](VerifierRequest::Builder r) { r.getPackages()[0].setName(""); },
       "no name"},
      {"check time before -1", [](VerifierRequest::Builder r) { r.setCheckTime(-5); }, "checkTime"},
      {"file without slot or path",
       [](VerifierRequest::Builder r) { r.getPackages()[0].initFile(); },
       "exactly one of slot and path"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const StageRun run =
        run_verifier({.package_repo = good_, .packages = {"foo"}, .tweak = c.tweak});
    ASSERT_FALSE(run.succeeded());
    EXPECT_EQ(run.error().kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(run.error().message(), HasSubstr(c.substring));
  }
}

// The stage hands index bytes to check_index_bytes; a compressed index whose
// own hash matches must still be refused when its content does not.
TEST(IndexBytes, ChecksTheUncompressedEntryOfACompressedIndex) {
  const TempDir dir;
  const std::string text = "Package: a\nVersion: 1\n";
  { std::ofstream(dir.path() / "Packages") << text; }
  struct Case {
    const char* compressor;
    const char* suffix;
  };
  for (const Case c : {Case{"/usr/bin/gzip", ".gz"}, Case{"/usr/bin/xz", ".xz"}}) {
    SCOPED_TRACE(c.suffix);
    ASSERT_EQ(tests::debrepo::run_argv({c.compressor, "-kf", (dir.path() / "Packages").string()}),
              0);
    const std::string bytes = read_file_bytes(dir.path() / ("Packages" + std::string(c.suffix)));
    const std::string path = std::string("main/Packages") + c.suffix;
    const Digest compressed = sha256_of_bytes(bytes);
    const Digest plain = sha256_of_bytes(text);

    Release release;
    release.sha256 = {{path, compressed.size, compressed.sha256},
                      {"main/Packages", plain.size, plain.sha256}};
    EXPECT_EQ(check_index_bytes(release, path, bytes, "r").sha256, compressed.sha256);

    release.sha256[1].sha256 = sha256_of_bytes("Package: b\n").sha256;
    try {
      check_index_bytes(release, path, bytes, "r");
      ADD_FAILURE() << "a wrong uncompressed hash was accepted";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_THAT(e.message(), HasSubstr("index 'main/Packages' of repository 'r'"));
    }

    // Without an uncompressed entry only the compressed file is checked.
    release.sha256.pop_back();
    EXPECT_EQ(check_index_bytes(release, path, bytes, "r").size, compressed.size);
  }
}

}  // namespace
}  // namespace stage::verifier
