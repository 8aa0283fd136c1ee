#include "stages/verifier/rpm/repomd.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "base/error.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "stages/verifier/rpm/repository_check_test_repo.hpp"

namespace stage::verifier::rpm {
namespace {

using ::testing::HasSubstr;

constexpr const char* kOrigin = "repomd.xml of repository 'oic-rpm'";
const std::string kSum(64, 'a');

std::string refusal(std::string_view xml) {
  try {
    parse_repomd(xml, kOrigin);
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << xml;
  return {};
}

std::string repomd_with(const std::string& data) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>1700000000</revision>" +
         data + "</repomd>\n";
}

std::string data_entry(const std::string& href, const std::string& sum_type = "sha256") {
  return "<data type=\"primary\"><checksum type=\"" + sum_type + "\">" + kSum +
         "</checksum><open-checksum type=\"sha256\">" + kSum + "</open-checksum><location href=\"" + href +
         "\"/><size>10</size><open-size>20</open-size></data>";
}

TEST(Repomd, ParsesWhatCreaterepoWrites) {
  tests::debrepo::TempDir dir;
  const auto repo = testing::make_tiny_repo(dir.path() / "r", "gz");
  const Repomd repomd = parse_repomd(read_file_bytes(repo.repomd()), kOrigin);
  EXPECT_FALSE(repomd.revision.empty());
  ASSERT_GE(repomd.data.size(), 3u);
  for (const std::string kind : {"primary", "filelists", "other"}) {
    const RepomdData* entry = repomd.find_location(repo.relative(kind));
    ASSERT_NE(entry, nullptr) << kind;
    EXPECT_EQ(entry->type, kind);
    const Digest actual = sha256_of_file(repo.repo() / entry->location);
    EXPECT_EQ(entry->checksum.sha256, actual.sha256);
    EXPECT_EQ(entry->checksum.size, actual.size);
    ASSERT_TRUE(entry->open.has_value()) << kind;
    EXPECT_EQ(entry->open->sha256.size(), 64u);
    EXPECT_GT(entry->open->size, 0u);
  }
}

TEST(Repomd, AcceptsAHandWrittenEntry) {
  const Repomd repomd = parse_repomd(repomd_with(data_entry("repodata/x-primary.xml.gz")), kOrigin);
  EXPECT_EQ(repomd.revision, "1700000000");
  ASSERT_EQ(repomd.data.size(), 1u);
  EXPECT_EQ(repomd.data[0].checksum.size, 10u);
  EXPECT_EQ(repomd.data[0].open->size, 20u);
}

TEST(Repomd, RefusesEntityDeclarations) {
  const std::string laughs =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE repomd [\n <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n"
      "<repomd><revision>&lol3;</revision>" + data_entry("repodata/x-primary.xml.gz") + "</repomd>\n";
  const std::string message = refusal(laughs);
  EXPECT_THAT(message, HasSubstr("oic-rpm"));
  EXPECT_THAT(message, HasSubstr("entity 'lol'"));
  EXPECT_THAT(refusal("<?xml version=\"1.0\"?>\n<!DOCTYPE repomd [<!ENTITY ext SYSTEM \"file:///etc/passwd\">]>"
                      "<repomd><revision>&ext;</revision></repomd>"),
              HasSubstr("entity 'ext'"));
}

TEST(Repomd, RefusesWeakChecksums) {
  for (const std::string type : {"sha1", "md5"}) {
    const std::string message = refusal(repomd_with(data_entry("repodata/x-primary.xml.gz", type)));
    EXPECT_THAT(message, HasSubstr("<data type=\"primary\"> has a " + type + " checksum"));
    EXPECT_THAT(message, HasSubstr("oic-rpm"));
  }
}

TEST(Repomd, RefusesLocationsOutsideRepodata) {
  const std::pair<std::string, std::string> cases[] = {
      {"/etc/passwd", "is absolute"},
      {"repodata/../../etc/passwd", "contains '..'"},
      {"..", "contains '..'"},
      {"x-primary.xml.gz", "is not under repodata/"},
      {"http://elsewhere.invalid/repodata/x.gz", "is a URL"},
      {"", "has no <location href>"},
  };
  for (const auto& [href, why] : cases) {
    const std::string message = refusal(repomd_with(data_entry(href)));
    EXPECT_THAT(message, HasSubstr("location '" + href + "' " + why)) << href;
    EXPECT_THAT(message, HasSubstr("<data type=\"primary\">"));
  }
}

TEST(Repomd, RefusesTruncatedOrIncompleteFiles) {
  const std::string good = repomd_with(data_entry("repodata/x-primary.xml.gz"));
  EXPECT_THAT(refusal(good.substr(0, good.size() / 2)), HasSubstr("at line"));
  EXPECT_THAT(refusal(repomd_with("")), HasSubstr("lists no <data> entry"));
  std::string no_size = data_entry("repodata/x-primary.xml.gz");
  no_size.replace(no_size.find("<size>10</size>"), 15, "");
  EXPECT_THAT(refusal(repomd_with(no_size)), HasSubstr("has no valid <size>"));
  EXPECT_THAT(refusal(repomd_with(data_entry("repodata/a.gz") + data_entry("repodata/a.gz"))),
              HasSubstr("listed twice"));
  EXPECT_THAT(refusal(std::string(kMaxRepomdBytes + 1, ' ')), HasSubstr("more than the"));
}

}  // namespace
}  // namespace stage::verifier::rpm
