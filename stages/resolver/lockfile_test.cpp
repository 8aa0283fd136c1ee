#include "stages/resolver/lockfile.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>

#include "ipc/error.hpp"

namespace stage::resolver {
namespace {

using nlohmann::json;

Lockfile sample() {
  Lockfile lock;
  lock.target = {"debian", "bookworm", "amd64"};
  lock.repositories = {{"security", "http://127.0.0.1/debian-security", "bookworm-security", std::string(40, 'b')},
                       {"main", "http://127.0.0.1/debian", "bookworm", ""}};
  lock.packages = {
      {"zlib1g", "1:1.2.13.dfsg-1", "amd64", "main", "http://127.0.0.1/debian/pool/z.deb", "pool/z.deb",
       std::string(64, 'c'), 90000},
      {"base-files", "12.4+deb12u10", "amd64", "main", "http://127.0.0.1/debian/pool/b.deb", "pool/b.deb",
       std::string(64, 'a'), 70000},
      {"openssl", "3.0.16-1~deb12u1", "amd64", "security", "http://127.0.0.1/debian-security/pool/o.deb",
       "pool/o.deb", std::string(64, 'e'), 1400000},
  };
  return lock;
}

TEST(Lockfile, RoundTripsAndSortsDeterministically) {
  const Lockfile lock = sample();
  const std::string text = write_lockfile(lock);
  const Lockfile back = read_lockfile(text, "test.lock");
  EXPECT_EQ(back.target.dist, "bookworm");
  ASSERT_EQ(back.repositories.size(), 2u);
  EXPECT_EQ(back.repositories[0].name, "main");  // sorted by name
  EXPECT_EQ(back.repositories[1].key_fingerprint, std::string(40, 'b'));
  ASSERT_EQ(back.packages.size(), 3u);
  EXPECT_EQ(back.packages[0].name, "base-files");
  EXPECT_EQ(back.packages[2], lock.packages[0]);
  // Writing what was read gives the same bytes; input order does not matter.
  EXPECT_EQ(write_lockfile(back), text);
  Lockfile reversed = lock;
  std::reverse(reversed.packages.begin(), reversed.packages.end());
  EXPECT_EQ(write_lockfile(reversed), text);
  EXPECT_NE(text.find("\"lockfileVersion\": 1"), std::string::npos);
}

TEST(Lockfile, IsMadeFromAResolution) {
  Resolution r;
  r.packages.push_back(ResolvedPackage{"hello", "2.10-3", "amd64", "main", "http://127.0.0.1/d/pool/h.deb",
                                       "pool/h.deb", std::string(64, 'f'), 5, Reason::kSystem, false, "", {}, {}});
  const Lockfile lock = make_lockfile(r, {"debian", "bookworm", "amd64"}, {{"main", "http://127.0.0.1/d", "bookworm", ""}});
  ASSERT_EQ(lock.packages.size(), 1u);
  EXPECT_EQ(lock.packages[0].url, "http://127.0.0.1/d/pool/h.deb");
  EXPECT_EQ(read_lockfile(write_lockfile(lock), "x").packages[0], lock.packages[0]);
}

TEST(Lockfile, RejectsInvalidDocuments) {
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    const char* error;
  };
  const Case cases[] = {
      // A newer tool's lockfile must be refused with a clear message.
      {"future version", [](json& j) { j["lockfileVersion"] = 2; }, "lockfileVersion 2 is not supported"},
      {"version missing", [](json& j) { j.erase("lockfileVersion"); }, "lockfileVersion is missing"},
      {"version as text", [](json& j) { j["lockfileVersion"] = "1"; }, "not an integer"},
      {"unknown top field", [](json& j) { j["extra"] = 1; }, "extra is not a known field"},
      {"unknown package field", [](json& j) { j["packages"][0]["md5"] = "x"; }, "packages[0].md5 is not a known field"},
      {"missing target", [](json& j) { j.erase("target"); }, "target is missing"},
      {"empty os", [](json& j) { j["target"]["os"] = ""; }, "target.os must not be empty"},
      {"bad sha256", [](json& j) { j["packages"][1]["sha256"] = "ABC"; }, "packages[1].sha256 must be 64"},
      {"upper-case sha256", [](json& j) { j["packages"][1]["sha256"] = std::string(64, 'A'); }, "sha256 must be 64"},
      {"zero size", [](json& j) { j["packages"][0]["size"] = 0; }, "packages[0].size must be a positive"},
      {"negative size", [](json& j) { j["packages"][0]["size"] = -5; }, "packages[0].size must be a positive"},
      {"bad version", [](json& j) { j["packages"][0]["version"] = "x.y"; }, "'x.y' is not a valid version"},
      {"bad name", [](json& j) { j["packages"][0]["name"] = "Bad_Name"; }, "is not a valid package name"},
      {"unknown repository", [](json& j) { j["packages"][0]["repository"] = "nope"; }, "'nope' is not a listed"},
      {"escaping filename", [](json& j) { j["packages"][0]["filename"] = "../../etc/passwd"; }, "not a safe relative"},
      {"absolute filename", [](json& j) { j["packages"][0]["filename"] = "/etc/passwd"; }, "not a safe relative"},
      {"bad url", [](json& j) { j["packages"][0]["url"] = "ftp://x/y"; }, "is not an http(s) or file URL"},
      {"duplicate package", [](json& j) { j["packages"].push_back(j["packages"][0]); }, "is listed twice"},
      {"bad fingerprint", [](json& j) { j["repositories"][0]["keyFingerprint"] = "1234"; }, "40 or 64"},
      {"packages not array", [](json& j) { j["packages"] = json::object(); }, "packages must be an array"},
      {"number as string field", [](json& j) { j["packages"][0]["url"] = 5; }, "packages[0].url must be a string"},
  };
  const std::string good = write_lockfile(sample());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json j = json::parse(good);
    c.edit(j);
    try {
      read_lockfile(j.dump(), "image.lock");
      ADD_FAILURE() << "no error";
    } catch (const ipc::Error& e) {
      EXPECT_EQ(e.kind(), ipc::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find("Failed to read lockfile 'image.lock': "), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(c.error), std::string::npos) << e.message();
    }
  }
}

TEST(Lockfile, RejectsTextThatIsNotJson) {
  EXPECT_THROW(read_lockfile("{ not json", "x"), ipc::Error);
  EXPECT_THROW(read_lockfile("[1, 2]", "x"), ipc::Error);
}

}  // namespace
}  // namespace stage::resolver
