#include "stages/verifier/checksums.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/verifier/deb/index_check.hpp"
#include "stages/verifier/error_of_test.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using tests::debrepo::DebRepo;
using tests::debrepo::TempDir;
using ::testing::HasSubstr;
using test::error_of;

Release release_of(const DebRepo& repo) {
  ReleaseRequest r;
  r.repository = "test-repo";
  r.suite = "oic-stable";
  r.architecture = "amd64";
  r.keyrings = {repo.keyring()};
  r.now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return verify_release_dir(repo.dist_dir(), r);
}

const PackageRecord& find(const std::vector<PackageRecord>& records, std::string_view name) {
  for (const auto& r : records) {
    if (r.package == name) return r;
  }
  throw std::runtime_error("no package " + std::string(name));
}

TEST(Sha256, MatchesKnownVectors) {
  struct Case {
    const char* input;
    const char* hex;
  };
  const Case cases[] = {
      // FIPS 180-2 examples.
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    const Digest d = sha256_of_bytes(c.input);
    EXPECT_EQ(d.sha256, c.hex);
    EXPECT_EQ(d.size, std::string_view(c.input).size());
  }
}

TEST(Sha256, FileDigestEqualsMemoryDigest) {
  TempDir dir;
  const std::string data(200000, 'x');
  { std::ofstream(dir.path() / "f", std::ios::binary) << data; }
  const Digest a = sha256_of_file(dir.path() / "f");
  const Digest b = sha256_of_bytes(data);
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(a.size, 200000u);
}

TEST(PackagesParser, RejectsEntryWithoutSha256) {
  EXPECT_THAT(error_of([] {
                parse_packages("Package: a\nVersion: 1\nArchitecture: all\nFilename: a.deb\n"
                               "Size: 3\n",
                               "Packages");
              }),
              HasSubstr("entry 'a'"));
}

// The good repository is built once and only read; each tampered one is
// built fresh by its own test.
class ChecksumChain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    good_dir_ = new TempDir;
    good_ = new DebRepo(tests::debrepo::make_debrepo_from_base(good_dir_->path() / "good"));
  }
  static void TearDownTestSuite() {
    delete good_;
    delete good_dir_;
  }
  static TempDir* good_dir_;
  static DebRepo* good_;
  TempDir dir_;
};
TempDir* ChecksumChain::good_dir_ = nullptr;
DebRepo* ChecksumChain::good_ = nullptr;

TEST_F(ChecksumChain, GoodRepositoryVerifiesFromReleaseToEveryDeb) {
  const DebRepo& repo = *good_;
  const Release release = release_of(repo);
  const std::string text = load_verified_index(release, repo.dist_dir(),
                                               "main/binary-amd64/Packages", "test-repo");
  EXPECT_EQ(text, read_file_bytes(repo.packages_base()));
  const auto records = parse_packages(text, "Packages");
  EXPECT_EQ(records.size(), 7u);
  for (const auto& r : records) {
    SCOPED_TRACE(r.package);
    EXPECT_NO_THROW(check_package_file(r, repo.root / r.filename, "test-repo"));
  }
  // Each compressed variant is listed and checks on its own.
  for (const char* name : {"Packages", "Packages.gz", "Packages.xz"}) {
    const std::string path = std::string("main/binary-amd64/") + name;
    EXPECT_NO_THROW(check_index(release, path, sha256_of_file(repo.dist_dir() / path), "r"));
  }
}

TEST_F(ChecksumChain, FlippedByteInDebNamesPackageRepositoryAndBothHashes) {
  const DebRepo repo = tests::debrepo::make_debrepo_from_base(dir_.path() / "r", {"--flip-deb"});
  const auto records = parse_packages(
      load_verified_index(release_of(repo), repo.dist_dir(), "main/binary-amd64/Packages",
                          "test-repo"),
      "Packages");
  const PackageRecord& foo = find(records, "foo");
  const Digest actual = sha256_of_file(repo.root / foo.filename);
  const std::string msg = error_of([&] { check_package_file(foo, repo.root / foo.filename, "test-repo"); });
  EXPECT_THAT(msg, HasSubstr("package 'foo' 1.0-1"));
  EXPECT_THAT(msg, HasSubstr("repository 'test-repo'"));
  EXPECT_THAT(msg, HasSubstr(foo.sha256));
  EXPECT_THAT(msg, HasSubstr(actual.sha256));
  EXPECT_NE(foo.sha256, actual.sha256);
  EXPECT_NO_THROW(check_package_file(find(records, "bar"), repo.root / find(records, "bar").filename, "r"));
}

TEST_F(ChecksumChain, FlippedByteInPackagesIsRejected) {
  const DebRepo repo = tests::debrepo::make_debrepo_from_base(dir_.path() / "r", {"--flip-packages"});
  const Release release = release_of(repo);
  const std::string msg = error_of([&] {
    check_index(release, "main/binary-amd64/Packages",
                sha256_of_file(repo.packages_base()), "test-repo");
  });
  EXPECT_THAT(msg, HasSubstr("index 'main/binary-amd64/Packages' of repository 'test-repo'"));
  EXPECT_THAT(msg, HasSubstr(release.find_file("main/binary-amd64/Packages")->sha256));
  // With only the plain index left, loading it fails too.
  std::filesystem::remove(repo.packages_base().string() + ".xz");
  std::filesystem::remove(repo.packages_base().string() + ".gz");
  EXPECT_THAT(error_of([&] {
                load_verified_index(release, repo.dist_dir(), "main/binary-amd64/Packages", "test-repo");
              }),
              HasSubstr("expected SHA256"));
}

TEST_F(ChecksumChain, DecompressedIndexMustMatchTheUncompressedEntryToo) {
  const DebRepo& repo = *good_;
  Release release = release_of(repo);
  for (auto& f : release.sha256) {
    if (f.path == "main/binary-amd64/Packages") f.sha256[0] = f.sha256[0] == '0' ? '1' : '0';
  }
  EXPECT_THAT(error_of([&] {
                load_verified_index(release, repo.dist_dir(), "main/binary-amd64/Packages", "r");
              }),
              HasSubstr("index 'main/binary-amd64/Packages' of repository 'r'"));
}

TEST_F(ChecksumChain, IndexNotListedInReleaseIsRejected) {
  const DebRepo& repo = *good_;
  EXPECT_THAT(error_of([&] {
                check_index(release_of(repo), "main/binary-arm64/Packages", sha256_of_bytes(""), "r");
              }),
              HasSubstr("not listed in the Release SHA256 list"));
}

// check_index_text with a cached decompressed copy. The "compressed" bytes
// are not a valid archive, so any attempt to decompress them throws: a
// case that expects kCached proves nothing was decompressed.
struct IndexTextCase {
  const char* label;
  bool list_uncompressed;   // the Release lists main/Packages
  const char* cached_text;  // the copy on disk; nullptr: none offered
  bool bytes_are_xz;        // real xz of the text, else garbage
  IndexText::Source source;
  const char* refusal;  // substring of cache_refusal, or "" for none
};

class IndexTextWithCache : public ::testing::TestWithParam<IndexTextCase> {};

TEST_P(IndexTextWithCache, UsesTheCachedCopyOnlyWhenItMatchesTheRelease) {
  const IndexTextCase& c = GetParam();
  const TempDir dir;
  const std::string text = "Package: a\nVersion: 1\nArchitecture: all\n";
  { std::ofstream(dir.path() / "Packages") << text; }
  ASSERT_EQ(tests::debrepo::run_argv({"/usr/bin/xz", "-kf", (dir.path() / "Packages").string()}), 0);
  const std::string bytes = c.bytes_are_xz ? read_file_bytes(dir.path() / "Packages.xz") : "not an archive";
  const Digest compressed = sha256_of_bytes(bytes);
  const Digest plain = sha256_of_bytes(text);
  Release release;
  release.sha256 = {{"main/Packages.xz", compressed.size, compressed.sha256}};
  if (c.list_uncompressed) release.sha256.push_back({"main/Packages", plain.size, plain.sha256});

  base::UniqueFd cached;
  if (c.cached_text != nullptr) {
    { std::ofstream(dir.path() / "cached") << c.cached_text; }
    cached = base::UniqueFd(::open((dir.path() / "cached").c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(cached.valid());
  }
  const base::UniqueFd text_out(::open(dir.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  ASSERT_TRUE(text_out.valid());
  const IndexText out = check_index_text(
      release, "main/Packages.xz", bytes, "r",
      {.text_fd = text_out.get(), .cached_fd = cached.get(), .cached_name = "the copy 'abc'"});
  EXPECT_EQ(out.digest.sha256, compressed.sha256);
  EXPECT_EQ(out.source, c.source);
  ASSERT_EQ(::lseek(text_out.get(), 0, SEEK_SET), 0);
  EXPECT_EQ(read_fd_bytes(text_out.get(), "text"), c.source == IndexText::Source::kDecompressed ? text : "");
  if (*c.refusal == '\0') {
    EXPECT_EQ(out.cache_refusal, "");
  } else {
    EXPECT_THAT(out.cache_refusal, HasSubstr(c.refusal));
    EXPECT_EQ(out.cache_refusal.rfind("the copy 'abc' ", 0), 0u) << out.cache_refusal;
  }
  ASSERT_EQ(out.listed.has_value(), c.list_uncompressed);
  if (out.listed) {
    EXPECT_EQ(out.listed->sha256, plain.sha256);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Checksums, IndexTextWithCache,
    ::testing::Values(
        IndexTextCase{"MatchingCopyIsUsedWithoutDecompressing", true, "Package: a\nVersion: 1\nArchitecture: all\n",
                      false, IndexText::Source::kCached, ""},
        IndexTextCase{"CorruptCopyIsRefusedAndTheIndexDecompressed", true,
                      "Package: a\nVersion: 2\nArchitecture: all\n", true, IndexText::Source::kDecompressed,
                      "is corrupt: expected SHA256"},
        IndexTextCase{"TruncatedCopyIsRefused", true, "Package: a\n", true, IndexText::Source::kDecompressed,
                      "is corrupt"},
        IndexTextCase{"CopyIsRefusedWhenTheReleaseCannotCheckIt", false,
                      "Package: a\nVersion: 1\nArchitecture: all\n", true, IndexText::Source::kDecompressed,
                      "cannot be checked: the Release does not list 'main/Packages'"},
        IndexTextCase{"WithoutACopyTheIndexIsDecompressed", true, nullptr, true, IndexText::Source::kDecompressed,
                      ""}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(IndexText, NotCompressedIndexHasNoText) {
  const std::string text = "Package: a\nVersion: 1\n";
  const Digest plain = sha256_of_bytes(text);
  Release release;
  release.sha256 = {{"main/Packages", plain.size, plain.sha256}};
  const base::UniqueFd text_out(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  const IndexText out = check_index_text(release, "main/Packages", text, "r", {.text_fd = text_out.get()});
  EXPECT_EQ(out.source, IndexText::Source::kNone);
  EXPECT_EQ(out.digest.sha256, plain.sha256);
}

}  // namespace
}  // namespace stage::verifier
