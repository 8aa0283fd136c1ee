#include "supervisor/build/lockfile.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace supervisor {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

const std::string kShaA(64, 'a');
const std::string kShaB(64, 'b');

Lockfile sample() {
  Lockfile lock;
  lock.provider_id = "debian-debian12-x86_64";
  lock.os = "debian";
  lock.dist = "debian12";
  lock.arch = "x86_64";
  lock.repositories = {{"main", "http://127.0.0.1:1", "ABCDEF", {"oicbook", {"main", "contrib"}}}};
  // Deliberately out of order: the writer sorts.
  lock.packages = {
      {"zlib", "1.2", "amd64", "main", "http://127.0.0.1:1/pool/z.deb", "pool/z.deb", kShaB, 20, "dependency",
       {false, {"base"}}},
      {"base", "1.0", "all", "main", "http://127.0.0.1:1/pool/b.deb", "pool/b.deb", kShaA, 10, "essential",
       {true, {}}},
  };
  lock.install_order = {"base", "zlib"};
  return lock;
}

base::Error error_of(const std::string& text) {
  try {
    lockfile_from_json(text, "test.json");
  } catch (const base::Error& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << text;
  return base::Error(base::ErrorKind::kFailed, "accepted");
}

TEST(Lockfile, RoundTripsThroughJson) {
  const Lockfile lock = sample();
  const Lockfile back = lockfile_from_json(lockfile_to_json(lock), "round-trip");
  Lockfile sorted = lock;
  std::swap(sorted.packages[0], sorted.packages[1]);
  EXPECT_EQ(back, sorted);
}

TEST(Lockfile, WritesPackagesSortedAndTheSameBytesForTheSameContent) {
  Lockfile reversed = sample();
  std::reverse(reversed.packages.begin(), reversed.packages.end());
  const std::string text = lockfile_to_json(sample());
  EXPECT_EQ(text, lockfile_to_json(reversed));
  const json parsed = json::parse(text);
  EXPECT_EQ(parsed["packages"][0]["name"], "base");
  EXPECT_EQ(parsed["packages"][1]["name"], "zlib");
  EXPECT_TRUE(text.ends_with("}\n"));
}

TEST(Lockfile, WriteThenReadGivesTheSameLockAndLeavesNoTemporary) {
  const auto dir = std::filesystem::temp_directory_path() / ("oic-lockfile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_lockfile(dir / "lock.json", sample());
  EXPECT_EQ(lockfile_to_json(read_lockfile(dir / "lock.json")), lockfile_to_json(sample()));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  std::filesystem::remove_all(dir);
}

// A link planted under the temporary name (beside a lockfile in a shared
// directory) is not followed: the file it names stays as it was.
TEST(Lockfile, WritingFollowsNoLinkPlantedUnderTheTemporaryName) {
  const auto dir = std::filesystem::temp_directory_path() / ("oic-lockfile-link-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "victim") << "untouched";
  std::filesystem::create_symlink(dir / "victim", dir / ("lock.json.tmp-" + std::to_string(::getpid())));
  EXPECT_THROW(write_lockfile(dir / "lock.json", sample()), base::Error);
  std::ifstream victim(dir / "victim");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(victim), {}), "untouched");
  EXPECT_FALSE(std::filesystem::exists(dir / "lock.json"));
  std::filesystem::remove_all(dir);
}

struct RejectCase {
  const char* label;
  std::function<void(json&)> edit;
  std::string field;
  std::string reason;
};

class LockfileRejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(LockfileRejects, NamingTheFieldAndTheFile) {
  json doc = json::parse(lockfile_to_json(sample()));
  GetParam().edit(doc);
  const base::Error e = error_of(doc.dump());
  EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
  EXPECT_THAT(e.message(), HasSubstr("lockfile 'test.json': " + GetParam().field + ": "));
  EXPECT_THAT(e.message(), HasSubstr(GetParam().reason));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LockfileRejects,
    ::testing::Values(
        RejectCase{"UnknownFormatVersion", [](json& d) { d["format"] = 3; }, "format",
                   "version 3 is not supported (this build reads versions 1 to 2)"},
        RejectCase{"UnknownFamily", [](json& d) { d["family"] = "pkg"; }, "family",
                   "'pkg' is not a package family this build installs"},
        RejectCase{"MissingFamily", [](json& d) { d.erase("family"); }, "(top).family", "missing"},
        RejectCase{"DebianFieldOutsideItsSection", [](json& d) { d["packages"][0]["essential"] = true; },
                   "packages[0]", "unknown key 'essential'"},
        RejectCase{"UnknownKeyInTheDebSection", [](json& d) { d["repositories"][0]["deb"]["pocket"] = "x"; },
                   "repositories[0].deb", "unknown key 'pocket'"},
        RejectCase{"BadSha256", [](json& d) { d["packages"][1]["sha256"] = std::string(64, 'G'); },
                   "packages[1].sha256", "expected 64 lowercase hex digits"},
        RejectCase{"ShortSha256", [](json& d) { d["packages"][0]["sha256"] = "abc"; }, "packages[0].sha256",
                   "expected 64 lowercase hex digits"},
        RejectCase{"MissingVersion", [](json& d) { d["packages"][0].erase("version"); }, "packages[0].version",
                   "missing"},
        RejectCase{"MissingSize", [](json& d) { d["packages"][1].erase("size"); }, "packages[1].size",
                   "expected a byte count"},
        RejectCase{"MissingRepositoryUrl", [](json& d) { d["repositories"][0].erase("url"); },
                   "repositories[0].url", "missing"},
        RejectCase{"NegativeRepositoryDate", [](json& d) { d["repositories"][0]["date"] = -5; },
                   "repositories[0].date", "expected a count of seconds since 1970"},
        RejectCase{"RepositoryDateAsText", [](json& d) { d["repositories"][0]["date"] = "2026-12-01"; },
                   "repositories[0].date", "expected a count of seconds since 1970"},
        RejectCase{"UnknownTopLevelKey", [](json& d) { d["extra"] = 1; }, "(top)", "unknown key 'extra'"},
        RejectCase{"UnknownPackageKey", [](json& d) { d["packages"][0]["checksum"] = "x"; }, "packages[0]",
                   "unknown key 'checksum'"},
        RejectCase{"DuplicatePackage", [](json& d) { d["packages"].push_back(d["packages"][0]); }, "packages[2]",
                   "package 'base' is listed twice"},
        RejectCase{"InstallOrderNamesUnknownPackage", [](json& d) { d["installOrder"].push_back("ghost"); },
                   "installOrder", "names 'ghost', which is not among the packages"},
        RejectCase{"NonHttpUrl", [](json& d) { d["packages"][0]["url"] = "ftp://x/y.deb"; }, "packages[0].url",
                   "expected an http(s) or file URL"},
        // Filename and url: a lockfile cannot fetch from outside the repository.
        RejectCase{"FilenameClimbsOut",
                   [](json& d) {
                     d["packages"][0]["filename"] = "pool/../../../etc/passwd";
                     d["packages"][0]["url"] = "http://127.0.0.1:1/pool/../../../etc/passwd";
                   },
                   "packages[0].filename", "leaves the repository: it has an empty, '.' or '..' component"},
        RejectCase{"FilenameIsAbsolute", [](json& d) { d["packages"][0]["filename"] = "/etc/passwd"; },
                   "packages[0].filename", "leaves the repository: it is an absolute path"},
        RejectCase{"FilenameIsAUrl", [](json& d) { d["packages"][0]["filename"] = "http://127.0.0.2/b.deb"; },
                   "packages[0].filename", "leaves the repository: it holds ':'"},
        RejectCase{"UrlIsNotTheRepositorysFile",
                   [](json& d) { d["packages"][0]["url"] = "http://127.0.0.2:1/pool/b.deb"; }, "packages[0].url",
                   "is not the repository's URL followed by the filename"},
        RejectCase{"PackageOfNoListedRepository", [](json& d) { d["packages"][0]["repository"] = "other"; },
                   "packages[0].repository", "names 'other', which is not among the repositories"}),
    [](const ::testing::TestParamInfo<RejectCase>& info) { return std::string(info.param.label); });

TEST(Lockfile, LockingAgainRequiresTheSameSignerPerRepository) {
  const Lockfile previous = sample();
  Lockfile now = sample();
  EXPECT_NO_THROW(require_same_signers(previous, now, "lock.json"));
  now.repositories[0].signer_fingerprint = "FEDCBA";
  try {
    require_same_signers(previous, now, "lock.json");
    ADD_FAILURE() << "another signer was accepted";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("repository 'main' (http://127.0.0.1:1 oicbook) is signed by key FEDCBA, "
                                       "but lockfile 'lock.json' records key ABCDEF"));
  }
  now.repositories[0].url = "http://127.0.0.1:2";  // another repository: nothing recorded for it
  EXPECT_NO_THROW(require_same_signers(previous, now, "lock.json"));
}

TEST(Lockfile, WritesTheFamilyAndItsFieldsInTheirOwnSection) {
  const json doc = json::parse(lockfile_to_json(sample()));
  EXPECT_EQ(doc["format"], 2);
  EXPECT_EQ(doc["family"], "deb");
  EXPECT_EQ(doc["repositories"][0]["deb"]["suite"], "oicbook");
  EXPECT_EQ(doc["repositories"][0]["deb"]["components"], json::array({"main", "contrib"}));
  EXPECT_FALSE(doc["repositories"][0].contains("suite"));
  EXPECT_EQ(doc["packages"][0]["deb"]["essential"], true);
  EXPECT_EQ(doc["packages"][1]["deb"]["preDepends"], json::array({"base"}));
  EXPECT_FALSE(doc["packages"][1].contains("preDepends"));
}

Lockfile rpm_sample() {
  Lockfile lock;
  lock.family = "rpm";
  lock.provider_id = "azure-linux-azl3-x86_64";
  lock.os = "azure-linux";
  lock.dist = "azl3";
  lock.arch = "x86_64";
  lock.repositories = {{"base", "http://127.0.0.1:1/azl", "ABCDEF", {}, 1765000000}};
  lock.packages = {{"bash", "1:5.2.15-3.azl3", "x86_64", "base", "http://127.0.0.1:1/azl/Packages/b/bash.rpm",
                    "Packages/b/bash.rpm", kShaA, 10, "system", {}}};
  lock.install_order = {"bash"};
  return lock;
}

// An rpm lock has no family section: what it locks is shared.
TEST(Lockfile, AnRpmLockRoundTripsWithoutADebSection) {
  const Lockfile lock = rpm_sample();
  const json doc = json::parse(lockfile_to_json(lock));
  EXPECT_EQ(doc["family"], "rpm");
  EXPECT_FALSE(doc["repositories"][0].contains("deb"));
  EXPECT_FALSE(doc["packages"][0].contains("deb"));
  EXPECT_EQ(lockfile_from_json(doc.dump(), "rpm.json"), lock);
}

// A repository's date (the build's default time) is written when known and
// read back; a lockfile without it (written before the field) still reads.
TEST(Lockfile, RecordsARepositorysDateWhenItIsKnown) {
  Lockfile lock = sample();
  lock.repositories[0].date = 1765000000;
  json doc = json::parse(lockfile_to_json(lock));
  EXPECT_EQ(doc["repositories"][0]["date"], 1765000000);
  EXPECT_EQ(lockfile_from_json(doc.dump(), "dated.json").repositories, lock.repositories);
  EXPECT_FALSE(json::parse(lockfile_to_json(sample()))["repositories"][0].contains("date"));
  doc["repositories"][0].erase("date");
  EXPECT_EQ(lockfile_from_json(doc.dump(), "undated.json").repositories[0].date, -1);
  EXPECT_EQ(json::parse(lockfile_to_json(rpm_sample()))["repositories"][0]["date"], 1765000000);
}

TEST(Lockfile, AnRpmLockWithADebSectionIsRefused) {
  json doc = json::parse(lockfile_to_json(rpm_sample()));
  doc["packages"][0]["deb"] = {{"essential", true}};
  EXPECT_THAT(error_of(doc.dump()).message(), HasSubstr("unknown key 'deb'"));
}

// Lockfiles written before families (format 1, every field flat) are read
// as Debian ones, and written again in the current format.
TEST(Lockfile, ReadsFormatOneAsDebian) {
  json old = json::parse(lockfile_to_json(sample()));
  old["format"] = 1;
  old.erase("family");
  for (json& repo : old["repositories"]) {
    repo["suite"] = repo["deb"]["suite"];
    repo["components"] = repo["deb"]["components"];
    repo.erase("deb");
  }
  for (json& pkg : old["packages"]) {
    pkg["essential"] = pkg["deb"]["essential"];
    pkg["preDepends"] = pkg["deb"]["preDepends"];
    pkg.erase("deb");
  }
  const Lockfile read = lockfile_from_json(old.dump(), "old.json");
  EXPECT_EQ(read.family, "deb");
  EXPECT_EQ(lockfile_to_json(read), lockfile_to_json(sample()));
  old["family"] = "deb";  // format 1 had no family
  EXPECT_THAT(error_of(old.dump()).message(), HasSubstr("unknown key 'family'"));
}

TEST(Lockfile, RejectsTextThatIsNotJson) {
  EXPECT_THAT(error_of("{\"format\": ").message(), HasSubstr("lockfile 'test.json': byte"));
}

}  // namespace
}  // namespace supervisor
