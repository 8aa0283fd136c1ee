#include "stages/verifier/deb/archive_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "base/error.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using tests::debrepo::TempDir;
using ::testing::HasSubstr;

std::string check_error(const std::filesystem::path& deb) {
  try {
    check_deb(deb);
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for " << deb;
  return {};
}

TEST(ArchiveCheck, AcceptsEveryPackageOfTheGoodRepository) {
  TempDir dir;
  const auto repo = tests::debrepo::make_debrepo(dir.path() / "r");
  int n = 0;
  // gzip, xz and zstd data tars are all in there.
  for (const auto& e : std::filesystem::directory_iterator(repo.root / "pool/main")) {
    SCOPED_TRACE(e.path().string());
    EXPECT_NO_THROW(check_deb(e.path()));
    ++n;
  }
  EXPECT_EQ(n, 7);
}

TEST(ArchiveCheck, RejectsHostileDataTarsNamingTheMember) {
  struct Case {
    const char* kind;
    const char* member;
    const char* reason;
  };
  const Case cases[] = {
      // Classic path traversal.
      {"dotdot", "./usr/../../etc/evil-dotdot", "has a '..' component in its name"},
      {"absolute", "/etc/evil-absolute", "has an absolute name"},
      // usr/escape -> /etc, then usr/escape/evil-symlink lands in /etc.
      {"symlink", "./usr/escape/evil-symlink", "escapes through the symlink 'usr/escape'"},
      // A hardlink can escape like a path can.
      {"hardlink", "./usr/shadow", "'..' component in its hardlink target '../../etc/shadow'"},
  };
  TempDir dir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.kind);
    const auto repo = tests::debrepo::make_debrepo(dir.path() / c.kind, {"--evil", c.kind});
    const std::string msg = check_error(repo.deb("evil_1.0_all.deb"));
    EXPECT_THAT(msg, HasSubstr("member '" + std::string(c.member) + "' of data.tar.xz"));
    EXPECT_THAT(msg, HasSubstr(c.reason));
    EXPECT_THAT(msg, HasSubstr("evil_1.0_all.deb"));
  }
}

TEST(ArchiveCheck, RejectsFlippedByteAsMalformed) {
  TempDir dir;
  const auto repo = tests::debrepo::make_debrepo(dir.path() / "r", {"--flip-deb"});
  EXPECT_THAT(check_error(repo.deb("foo_1.0-1_amd64.deb")), HasSubstr("foo_1.0-1_amd64.deb"));
}

TEST(ArchiveCheck, RejectsFileThatIsNotAnArArchive) {
  TempDir dir;
  { std::ofstream(dir.path() / "x.deb") << "not a deb\n"; }
  EXPECT_THAT(check_error(dir.path() / "x.deb"), HasSubstr("x.deb"));
}

// A .deb whose data.tar.xz has many xz blocks, as dpkg writes them, so the
// threaded decoder really splits the work; `cut` drops that share of the
// compressed data tar's tail.
std::filesystem::path make_multiblock_deb(const std::filesystem::path& dir, double cut) {
  namespace fs = std::filesystem;
  using tests::debrepo::run_argv;
  const fs::path root = dir / "root";
  fs::create_directories(root / "usr/share/many");
  for (int i = 0; i < 64; ++i) {
    std::string text;
    for (int line = 0; line < 2000; ++line) text += std::to_string(i * 7919 + line * line) + "\n";
    std::ofstream(root / "usr/share/many" / ("f" + std::to_string(i))) << text;
  }
  fs::create_directories(dir / "control");
  std::ofstream(dir / "control/control") << "Package: many\nVersion: 1\nArchitecture: all\n";
  std::ofstream(dir / "debian-binary") << "2.0\n";
  EXPECT_EQ(run_argv({"/usr/bin/tar", "-C", (dir / "control").string(), "-czf", (dir / "control.tar.gz").string(), "./control"}), 0);
  EXPECT_EQ(run_argv({"/usr/bin/tar", "-C", root.string(), "-cf", (dir / "data.tar").string(), "./usr"}), 0);
  EXPECT_EQ(run_argv({"/usr/bin/xz", "-T2", "--block-size=65536", "-f", (dir / "data.tar").string()}), 0);
  const fs::path xz = dir / "data.tar.xz";
  fs::resize_file(xz, fs::file_size(xz) - static_cast<std::uintmax_t>(static_cast<double>(fs::file_size(xz)) * cut));
  const fs::path deb = dir / "many_1_all.deb";
  EXPECT_EQ(run_argv({"/usr/bin/ar", "rc", deb.string(), (dir / "debian-binary").string(),
                      (dir / "control.tar.gz").string(), xz.string()}),
            0);
  return deb;
}

TEST(ArchiveCheck, WalksAMultiBlockXzDataTar) {
  TempDir dir;
  EXPECT_NO_THROW(check_deb(make_multiblock_deb(dir.path(), 0)));
}

TEST(ArchiveCheck, RejectsACutXzDataTar) {
  TempDir dir;
  const std::string msg = check_error(make_multiblock_deb(dir.path(), 0.5));
  EXPECT_THAT(msg, HasSubstr("Failed to check package '"));
  EXPECT_THAT(msg, HasSubstr("cannot read data.tar.xz"));
  EXPECT_THAT(msg, HasSubstr("xz data"));
}

TEST(Utf8, AcceptsAndRejectsByteSequences) {
  struct Case {
    const char* name;
    std::string bytes;
    bool valid;
  };
  const Case cases[] = {
      {"ascii", "usr/bin/ls", true},
      {"two-byte", "caf\xc3\xa9", true},
      {"four-byte", "\xf0\x9f\x98\x80", true},
      // Latin-1 bytes are not UTF-8.
      {"latin1", "caf\xe9", false},
      // Overlong encoding of '/' hides a separator from naive checks.
      {"overlong slash", "a\xc0\xaf" "b", false},
      {"surrogate", "\xed\xa0\x80", false},
      {"truncated", "\xe2\x82", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_valid_utf8(c.bytes), c.valid);
  }
}

}  // namespace
}  // namespace stage::verifier
