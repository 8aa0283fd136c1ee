#include "stages/verifier/archive_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ipc/error.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier {
namespace {

using tests::debrepo::TempDir;
using ::testing::HasSubstr;

std::string check_error(const std::filesystem::path& deb) {
  try {
    check_deb(deb);
  } catch (const ipc::Error& e) {
    EXPECT_EQ(e.kind(), ipc::ErrorKind::kInvalidInput) << e.what();
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
