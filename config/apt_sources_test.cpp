#include "config/apt_sources.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <unistd.h>

#include "base/error.hpp"

namespace config {
namespace {

using Strings = std::vector<std::string>;

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    return e.message();
  }
  return "(no error)";
}

TEST(OneLineSources, ReadsUriSuiteAndComponents) {
  const auto sources = parse_one_line_sources(
      "deb http://deb.example.invalid/debian/ bookworm main contrib\n", "sources.list");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].uri, "http://deb.example.invalid/debian");
  EXPECT_EQ(sources[0].suite, "bookworm");
  EXPECT_EQ(sources[0].components, (Strings{"main", "contrib"}));
  EXPECT_EQ(sources[0].line, 1);
  EXPECT_FALSE(sources[0].trusted);
}

TEST(OneLineSources, SkipsCommentsBlankLinesAndDebSrc) {
  const auto sources = parse_one_line_sources(
      "# a comment\n"
      "\n"
      "deb-src http://deb.example.invalid/debian bookworm main\n"
      "deb http://deb.example.invalid/debian bookworm-updates main # trailing comment\n"
      "   # indented comment\n",
      "sources.list");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].suite, "bookworm-updates");
  EXPECT_EQ(sources[0].components, (Strings{"main"}));
  EXPECT_EQ(sources[0].line, 4);
}

TEST(OneLineSources, ReadsBracketOptions) {
  const auto sources = parse_one_line_sources(
      "deb [ arch=amd64,arm64 signed-by=/usr/share/keyrings/a.gpg trusted=yes lang=none ] "
      "https://repo.example.invalid/x stable main\n",
      "x.list");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].architectures, (Strings{"amd64", "arm64"}));
  EXPECT_EQ(sources[0].signed_by, (Strings{"/usr/share/keyrings/a.gpg"}));
  EXPECT_TRUE(sources[0].trusted);
}

TEST(OneLineSources, AcceptsFlatRepositoryWithoutComponents) {
  const auto sources = parse_one_line_sources("deb [trusted=yes] file:///srv/repo ./\n", "local.list");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].uri, "file:///srv/repo");
  EXPECT_EQ(sources[0].suite, "./");
  EXPECT_TRUE(sources[0].components.empty());
}

TEST(OneLineSources, RejectsMalformedLinesNamingFileAndLine) {
  struct Case {
    const char* name;
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      // Only deb and deb-src are repository types.
      {"unknown type", "\nrpm http://x.example.invalid stable main\n", "'bad.list:2': unknown type 'rpm'"},
      // A suite is required after the URI.
      {"missing suite", "deb http://x.example.invalid\n", "'bad.list:1': expected a URI and a suite"},
      // An option block must be closed.
      {"unclosed options", "deb [arch=amd64 http://x.example.invalid stable main\n", "'bad.list:1': '[' without"},
      // Options are key=value.
      {"option without value", "deb [arch] http://x.example.invalid stable main\n", "option 'arch' is not key=value"},
      // trusted= takes a boolean.
      {"bad boolean", "deb [trusted=maybe] http://x.example.invalid stable main\n", "expected yes or no"},
      // apt refuses components after an exact path.
      {"flat with components", "deb http://x.example.invalid ./ main\n", "takes no components"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string message = error_of([&] { parse_one_line_sources(c.text, "bad.list"); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

TEST(Deb822Sources, ExpandsUrisTimesSuites) {
  const auto sources = parse_deb822_sources(
      "Types: deb deb-src\n"
      "URIs: http://a.example.invalid/debian http://b.example.invalid/debian/\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main non-free-firmware\n"
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
      "debian.sources");
  ASSERT_EQ(sources.size(), 4u);
  EXPECT_EQ(sources[0].uri, "http://a.example.invalid/debian");
  EXPECT_EQ(sources[0].suite, "bookworm");
  EXPECT_EQ(sources[1].suite, "bookworm-updates");
  EXPECT_EQ(sources[3].uri, "http://b.example.invalid/debian");
  EXPECT_EQ(sources[3].components, (Strings{"main", "non-free-firmware"}));
  EXPECT_EQ(sources[3].signed_by, (Strings{"/usr/share/keyrings/debian-archive-keyring.gpg"}));
}

TEST(Deb822Sources, ReadsSeveralStanzasWithCommentsInside) {
  // The layout Debian's installer writes: a comment between fields.
  const auto sources = parse_deb822_sources(
      "# leading comment\n"
      "Types: deb\n"
      "# http://snapshot.example.invalid/archive/debian/20240101T000000Z\n"
      "URIs: http://a.example.invalid/debian\n"
      "Suites: bookworm\n"
      "Components: main\n"
      "\n"
      "\n"
      "types: deb\n"
      "uris: http://a.example.invalid/debian-security\n"
      "suites: bookworm-security\n"
      "components: main\n"
      "architectures: amd64 arm64\n",
      "debian.sources");
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].line, 2);
  EXPECT_EQ(sources[1].suite, "bookworm-security");
  EXPECT_EQ(sources[1].architectures, (Strings{"amd64", "arm64"}));
  EXPECT_EQ(sources[1].line, 9);
}

TEST(Deb822Sources, SkipsDisabledAndSourceOnlyStanzas) {
  const auto sources = parse_deb822_sources(
      "Types: deb\nURIs: http://a.example.invalid/d\nSuites: one\nComponents: main\nEnabled: no\n\n"
      "Types: deb-src\nURIs: http://a.example.invalid/d\nSuites: two\nComponents: main\n\n"
      "Types: deb\nURIs: http://a.example.invalid/d\nSuites: three\nComponents: main\nEnabled: yes\n",
      "x.sources");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].suite, "three");
}

TEST(Deb822Sources, KeepsInlineArmoredKeyFromContinuationLines) {
  const auto sources = parse_deb822_sources(
      "Types: deb\n"
      "URIs: https://r.example.invalid/apt\n"
      "Suites: stable\n"
      "Components: main\n"
      "Signed-By:\n"
      " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
      " .\n"
      " mQINBGPLaceholderKeyData\n"
      " =abcd\n"
      " -----END PGP PUBLIC KEY BLOCK-----\n"
      "Trusted: no\n",
      "inline.sources");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_TRUE(sources[0].signed_by.empty());
  EXPECT_EQ(sources[0].signed_by_key,
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGPLaceholderKeyData\n=abcd\n"
            "-----END PGP PUBLIC KEY BLOCK-----\n");
  EXPECT_FALSE(sources[0].trusted);
}

TEST(Deb822Sources, JoinsContinuedFieldValues) {
  const auto sources = parse_deb822_sources(
      "Types: deb\nURIs: http://a.example.invalid/d\nSuites: one\n  two\nComponents: main\n", "x.sources");
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[1].suite, "two");
}

TEST(Deb822Sources, RejectsMalformedStanzasNamingFileAndLine) {
  struct Case {
    const char* name;
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      // URIs is mandatory; the error points at the stanza's first line.
      {"no uris", "\nTypes: deb\nSuites: s\n", "'bad.sources:2': stanza has no 'uris' field"},
      // A line that is neither a field, a comment nor a continuation.
      {"no colon", "Types: deb\nURIs http://x.example.invalid\n", "'bad.sources:2': expected 'Field: value'"},
      // A continuation needs a field to continue.
      {"orphan continuation", " main\n", "'bad.sources:1': continuation line"},
      // A field may be given once per stanza.
      {"duplicate field", "Types: deb\nTypes: deb\n", "'bad.sources:2': field 'types' appears twice"},
      // Enabled takes a boolean.
      {"bad enabled", "Types: deb\nURIs: http://x.example.invalid\nSuites: s\nEnabled: sometimes\n",
       "'bad.sources:4': expected yes or no"},
      // Types names known repository kinds only.
      {"unknown type", "Types: rpm\nURIs: http://x.example.invalid\nSuites: s\n", "unknown type 'rpm'"},
      // An empty Suites field cannot name a repository.
      {"empty suites", "Types: deb\nURIs: http://x.example.invalid\nSuites:\n", "'bad.sources:3': field 'suites' is empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string message = error_of([&] { parse_deb822_sources(c.text, "bad.sources"); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

class AptDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/apt_sources_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    std::filesystem::create_directories(root_ / "sources.list.d");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::filesystem::path& rel, const std::string& text) { std::ofstream(root_ / rel) << text; }

  std::filesystem::path root_;
};

TEST_F(AptDirectory, ReadsBothFormatsInAptOrderAndIgnoresOtherFiles) {
  write("sources.list", "deb http://first.example.invalid/d bookworm contrib\n");
  write("sources.list.d/b.sources",
        "Types: deb\nURIs: http://third.example.invalid/d\nSuites: bookworm\nComponents: main\n");
  write("sources.list.d/a.list", "deb http://second.example.invalid/d bookworm main\n");
  write("sources.list.d/c.list.disabled", "deb http://never.example.invalid/d bookworm main\n");
  const auto sources = read_apt_sources(root_);
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[0].uri, "http://first.example.invalid/d");
  EXPECT_EQ(sources[1].uri, "http://second.example.invalid/d");
  EXPECT_EQ(sources[2].uri, "http://third.example.invalid/d");
  EXPECT_EQ(sources[2].file, root_ / "sources.list.d/b.sources");

  // contrib-only first entry does not serve bookworm main; a.list does.
  const auto found = find_debian_source(sources, "bookworm");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->uri, "http://second.example.invalid/d");
  EXPECT_FALSE(find_debian_source(sources, "trixie").has_value());
}

TEST_F(AptDirectory, NamesTheFileOfAParseError) {
  write("sources.list.d/broken.list", "deb\n");
  const std::string message = error_of([&] { read_apt_sources(root_); });
  EXPECT_NE(message.find((root_ / "sources.list.d/broken.list").string() + ":1"), std::string::npos) << message;
}

TEST_F(AptDirectory, IsEmptyWithoutAnySourcesFile) {
  EXPECT_TRUE(read_apt_sources(root_ / "missing").empty());
}

TEST(MachineAptSources, ServeBookwormMain) {
  const auto sources = read_apt_sources();
  const auto bookworm = find_debian_source(sources, "bookworm");
  if (!bookworm) GTEST_SKIP() << "this machine's apt sources have no bookworm main entry";
  EXPECT_TRUE(bookworm->uri.starts_with("http://") || bookworm->uri.starts_with("https://") ||
              bookworm->uri.starts_with("file:/"))
      << bookworm->uri;
  EXPECT_GT(bookworm->line, 0);
}

}  // namespace
}  // namespace config
