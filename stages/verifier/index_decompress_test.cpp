// Decompression bombs: a small .gz/.xz/.zst index whose text is far larger
// than its metadata lists, or than any index may be, is stopped while it
// expands, with nothing past the bound handed on.
#include "stages/verifier/index_decompress.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "base/unique_fd.hpp"
#include "stages/verifier/deb/index_check.hpp"
#include "stages/verifier/error_of_test.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using ::testing::HasSubstr;
using test::error_of;
using tests::debrepo::TempDir;

constexpr std::uint64_t kBombText = 16ULL << 20;  // what the bomb expands to
constexpr std::uint64_t kLimit = 100000;          // a bound far below it

struct Compressor {
  const char* suffix;
  std::vector<std::string> argv;  // the file to compress is appended; -k keeps it
};

void PrintTo(const Compressor& c, std::ostream* os) { *os << c.suffix; }

const Compressor kCompressors[] = {
    {".gz", {"/usr/bin/gzip", "-k", "-f"}},
    {".xz", {"/usr/bin/xz", "-k", "-f", "-0"}},
    {".zst", {"/usr/bin/zstd", "-q", "-k", "-f"}},
};

// kBombText bytes of one repeated line, compressed: a few KiB at most.
std::string bomb(const TempDir& dir, const Compressor& c) {
  const auto plain = dir.path() / "Packages";
  {
    std::ofstream out(plain, std::ios::binary);
    const std::string line(1023, 'a');
    for (std::uint64_t n = 0; n < kBombText; n += 1024) out << line << '\n';
  }
  std::vector<std::string> argv = c.argv;
  argv.push_back(plain.string());
  EXPECT_EQ(tests::debrepo::run_argv(argv), 0);
  std::filesystem::remove(plain);
  std::string bytes = read_file_bytes(plain.string() + c.suffix);
  EXPECT_LT(bytes.size(), kBombText / 100) << "not a bomb";
  return bytes;
}

class Bomb : public ::testing::TestWithParam<Compressor> {
 protected:
  // A temporary file for the text: what check_index_text hands on is counted.
  base::UniqueFd text_file() const {
    base::UniqueFd fd(::open(dir_.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid());
    return fd;
  }
  static std::uint64_t size_of(int fd) {
    struct stat st{};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return static_cast<std::uint64_t>(st.st_size);
  }
  // A Release listing the bomb at main/Packages<suffix>, and its text at
  // main/Packages with `text_size` (and a digest it does not have) when set.
  Release release_of(const std::string& bytes, std::optional<std::uint64_t> text_size) const {
    const Digest compressed = sha256_of_bytes(bytes);
    Release release;
    release.sha256 = {{path(), compressed.size, compressed.sha256}};
    if (text_size) release.sha256.push_back({"main/Packages", *text_size, std::string(64, '0')});
    return release;
  }
  std::string path() const { return std::string("main/Packages") + GetParam().suffix; }

  TempDir dir_;
};

TEST_P(Bomb, StopsAsSoonAsTheTextPassesTheLimit) {
  const std::string bytes = bomb(dir_, GetParam());
  std::uint64_t handed_on = 0;
  const std::string message = error_of([&] {
    decompress_bounded(bytes, "index 'x' of repository 'r'", {kLimit, "the test's limit"},
                       [&](std::string_view chunk) { handed_on += chunk.size(); });
  });
  EXPECT_THAT(message, HasSubstr("Failed to decompress index 'x' of repository 'r': its text passes the test's limit"));
  EXPECT_LE(handed_on, kLimit);
  EXPECT_GT(handed_on, kLimit - 65536) << "stopped before the limit";
}

TEST_P(Bomb, TheWholeTextWithinTheLimitComesOut) {
  const std::string bytes = bomb(dir_, GetParam());
  std::uint64_t handed_on = 0;
  decompress_bounded(bytes, "x", {kBombText, "the test's limit"},
                     [&](std::string_view chunk) { handed_on += chunk.size(); });
  EXPECT_EQ(handed_on, kBombText);
}

// The size the signed metadata lists for the text (repomd's open-size, a
// Release's entry for the uncompressed file) is the bound when it is lower.
TEST_P(Bomb, AnIndexPassingItsListedSizeIsRefusedWhileItExpands) {
  const std::string bytes = bomb(dir_, GetParam());
  const base::UniqueFd text = text_file();
  const std::string message = error_of([&] {
    check_index_text(release_of(bytes, kLimit), path(), bytes, "r", {.text_fd = text.get()});
  });
  EXPECT_THAT(message, HasSubstr("index '" + path() + "' of repository 'r'"));
  EXPECT_THAT(message, HasSubstr("passes the " + std::to_string(kLimit) + " bytes listed for 'main/Packages'"));
  EXPECT_LE(size_of(text.get()), kLimit);
}

// Without a listed size (a Debian Release listing only the .xz) the ceiling
// applies, and it applies too when the listed size is above it.
TEST_P(Bomb, AnIndexPassingTheCeilingIsRefusedWhileItExpands) {
  const std::string bytes = bomb(dir_, GetParam());
  for (const std::optional<std::uint64_t> listed : {std::optional<std::uint64_t>(), std::optional(kBombText)}) {
    SCOPED_TRACE(listed ? "listed above the ceiling" : "not listed");
    const base::UniqueFd text = text_file();
    const std::string message = error_of([&] {
      check_index_text(release_of(bytes, listed), path(), bytes, "r", {.text_fd = text.get(), .ceiling = kLimit});
    });
    EXPECT_THAT(message, HasSubstr("Failed to decompress index '" + path() + "' of repository 'r'"));
    EXPECT_THAT(message, HasSubstr("passes the " + std::to_string(kLimit) + " bytes any index text may be at most"));
    EXPECT_LE(size_of(text.get()), kLimit);
  }
}

TEST(IndexCeiling, IsTwoGiBAndNamedInTheDefaultLimit) {
  EXPECT_EQ(kMaxIndexTextBytes, 2ULL << 30);
  const TextLimit limit;
  EXPECT_EQ(limit.bytes, kMaxIndexTextBytes);
  EXPECT_THAT(limit.reason, HasSubstr("2147483648 bytes (2 GiB)"));
}

INSTANTIATE_TEST_SUITE_P(Formats, Bomb, ::testing::ValuesIn(kCompressors),
                         [](const auto& info) { return std::string(info.param.suffix + 1); });

}  // namespace
}  // namespace stage::verifier
