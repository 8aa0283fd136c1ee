#include "stages/fetcher/download.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "stages/fetcher/sha256.hpp"
#include "tests/fixtures/httpd/httpd_fixture.hpp"

namespace stage::fetcher {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "oic-fetch-XXXXXX").string();
    base::check(::mkdtemp(pattern.data()) != nullptr, "Failed to create a temporary directory");
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string sha256_of(std::string_view data) {
  Sha256 hash;
  hash.update(data.data(), data.size());
  return hash.finish_hex();
}

class Download : public testing::Test {
 protected:
  Download() : server_(served_.path(), 120s) {
    options_.workers = 4;
    options_.max_attempts = 3;
    options_.backoff_initial = 20ms;
    options_.backoff_max = 200ms;
    options_.low_speed_limit = 1;
    options_.low_speed_time = 2s;
  }

  // Serves `size` random bytes as `name`; returns an item expecting them.
  DownloadItem serve(const std::string& name, std::size_t size) {
    std::string data(size, '\0');
    std::independent_bits_engine<std::mt19937, 8, unsigned> bytes(static_cast<unsigned>(size) + 1);
    std::generate(data.begin(), data.end(), [&] { return static_cast<char>(bytes()); });
    std::ofstream(served_.path() / name, std::ios::binary) << data;
    contents_[name] = data;
    return DownloadItem{server_.url(name), out_.path() / name, sha256_of(data), size, true};
  }

  void expect_downloaded(const DownloadItem& item) {
    EXPECT_FALSE(fs::exists(item.dest.string() + ".part")) << item.dest;
    EXPECT_EQ(read_file(item.dest), contents_[item.dest.filename().string()]) << item.dest;
  }

  void expect_nothing_left(const DownloadItem& item) {
    EXPECT_FALSE(fs::exists(item.dest)) << item.dest;
    EXPECT_FALSE(fs::exists(item.dest.string() + ".part")) << item.dest;
  }

  // Requests for one path, in order, from the server's log.
  std::vector<nlohmann::json> requests_for(const std::string& path) {
    std::vector<nlohmann::json> out;
    for (const auto& r : nlohmann::json::parse(server_.request_log())) {
      if (r["path"] == "/" + path) out.push_back(r);
    }
    return out;
  }

  std::vector<DownloadResult> run(std::vector<DownloadItem> items) {
    items_ = std::move(items);
    return download_all(items_, options_, callbacks_);
  }

  TempDir served_, out_;
  fixtures::FaultHttpd server_;
  DownloadOptions options_;
  DownloadCallbacks callbacks_;
  std::vector<DownloadItem> items_;
  std::map<std::string, std::string> contents_;
};

TEST_F(Download, FetchesManyFilesInParallelWithTheRightHashes) {
  server_.set_rules(R"({"*": {"stall_before": 0.1}})");  // keeps transfers overlapping
  std::vector<DownloadItem> items;
  for (int i = 0; i < 24; ++i) items.push_back(serve("pkg" + std::to_string(i) + ".deb", (i * 37'011) % 300'000));
  const auto results = run(items);
  ASSERT_EQ(results.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(items[i].url);
    ASSERT_TRUE(results[i].ok) << results[i].error;
    EXPECT_EQ(results[i].sha256, *items[i].sha256);
    EXPECT_EQ(results[i].attempts, 1u);
    expect_downloaded(items[i]);
  }
  const auto stats = nlohmann::json::parse(server_.stats());
  EXPECT_GE(stats["peak_active"].get<int>(), 2);
  EXPECT_LE(stats["peak_active"].get<int>(), 4);  // never more than the workers
}

TEST_F(Download, RetriesServerErrorsThenSucceeds) {
  const auto item = serve("a.deb", 10'000);
  server_.set_rules(R"({"/a.deb": {"status": 500, "times": 2}})");
  const auto results = run({item});
  ASSERT_TRUE(results[0].ok) << results[0].error;
  EXPECT_EQ(results[0].attempts, 3u);
  EXPECT_EQ(requests_for("a.deb").size(), 3u);
  expect_downloaded(item);
}

TEST_F(Download, GivesUpOnPersistentServerErrorNamingUrlStatusAndAttempts) {
  const auto item = serve("a.deb", 10'000);
  server_.set_rules(R"({"/a.deb": {"status": 503}})");
  const auto results = run({item});
  ASSERT_FALSE(results[0].ok);
  EXPECT_NE(results[0].error.find(item.url), std::string::npos) << results[0].error;
  EXPECT_NE(results[0].error.find("HTTP 503"), std::string::npos) << results[0].error;
  EXPECT_NE(results[0].error.find("after 3 attempts"), std::string::npos) << results[0].error;
  EXPECT_EQ(results[0].error_kind, base::ErrorKind::kOverloaded);
  expect_nothing_left(item);  // an empty .part is not worth keeping
  try {
    check_all_downloaded(results);
    ADD_FAILURE() << "check_all_downloaded did not throw";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.message(), results[0].error);
  }
}

TEST_F(Download, DoesNotRetryNotFound) {
  DownloadItem item{server_.url("missing.deb"), out_.path() / "missing.deb", std::nullopt, std::nullopt, true};
  const auto results = run({item});
  ASSERT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].attempts, 1u);
  EXPECT_NE(results[0].error.find("HTTP 404"), std::string::npos) << results[0].error;
  expect_nothing_left(item);
}

TEST_F(Download, ResumesTruncatedBodyWithRange) {
  const auto item = serve("a.deb", 50'000);
  server_.set_rules(R"({"/a.deb": {"truncate_at": 20000, "times": 1}})");
  const auto results = run({item});
  ASSERT_TRUE(results[0].ok) << results[0].error;
  EXPECT_EQ(results[0].attempts, 2u);
  EXPECT_EQ(results[0].resumes, 1u);
  const auto requests = requests_for("a.deb");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["range"], "bytes=20000-");
  EXPECT_EQ(requests[1]["status"], 206);
  expect_downloaded(item);
}

TEST_F(Download, TreatsShortContentLengthAsTruncation) {
  const auto item = serve("a.deb", 50'000);
  server_.set_rules(R"({"/a.deb": {"content_length": 30000, "times": 1}})");
  const auto results = run({item});
  ASSERT_TRUE(results[0].ok) << results[0].error;
  EXPECT_EQ(results[0].resumes, 1u);
  expect_downloaded(item);
}

TEST_F(Download, RestartsFromZeroWhenServerIgnoresRange) {
  const auto item = serve("a.deb", 50'000);
  // The truncation happens once; "*" keeps ignoring Range afterwards.
  server_.set_rules(R"({"/a.deb": {"truncate_at": 20000, "ignore_range": true, "times": 1},
                        "*": {"ignore_range": true}})");
  const auto results = run({item});
  ASSERT_TRUE(results[0].ok) << results[0].error;
  const auto requests = requests_for("a.deb");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["range"], "bytes=20000-");
  EXPECT_EQ(requests[1]["status"], 200);
  expect_downloaded(item);
}

TEST_F(Download, KeepsPartialFileForTheNextRun) {
  const auto item = serve("a.deb", 50'000);
  server_.set_rules(R"({"/a.deb": {"truncate_at": 20000, "times": 1}})");
  options_.max_attempts = 1;
  const auto first = run({item});
  ASSERT_FALSE(first[0].ok);
  EXPECT_FALSE(fs::exists(item.dest));
  ASSERT_EQ(fs::file_size(item.dest.string() + ".part"), 20'000u);
  const auto second = run({item});
  ASSERT_TRUE(second[0].ok) << second[0].error;
  EXPECT_EQ(second[0].resumes, 1u);
  EXPECT_EQ(requests_for("a.deb").back()["range"], "bytes=20000-");
  expect_downloaded(item);
}

TEST_F(Download, RetriesAfterConnectionReset) {
  const auto item = serve("a.deb", 10'000);
  server_.set_rules(R"({"/a.deb": {"reset": true, "times": 1}})");
  const auto results = run({item});
  ASSERT_TRUE(results[0].ok) << results[0].error;
  EXPECT_EQ(results[0].attempts, 2u);
  expect_downloaded(item);
}

TEST_F(Download, AbortsStalledTransferAfterTheLowSpeedTime) {
  const auto item = serve("a.deb", 50'000);
  server_.set_rules(R"({"/a.deb": {"stall_before": 60}})");
  options_.max_attempts = 2;
  options_.low_speed_time = 1s;
  const auto started = std::chrono::steady_clock::now();
  const auto results = run({item});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  ASSERT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].attempts, 2u);
  EXPECT_NE(results[0].error.find("Timeout"), std::string::npos) << results[0].error;
  EXPECT_NE(results[0].error.find("stalled: under 1 bytes/s for 1 s (curl: "), std::string::npos) << results[0].error;
  expect_nothing_left(item);
}

TEST_F(Download, KeepsTheReceivedPrefixOfAStalledTransfer) {
  const auto item = serve("a.deb", 50'000);
  server_.set_rules(R"({"/a.deb": {"stall_at": 10000, "stall_for": 60}})");
  options_.max_attempts = 1;
  options_.per_file_max_time = 1s;
  const auto results = run({item});
  ASSERT_FALSE(results[0].ok);
  EXPECT_FALSE(fs::exists(item.dest));
  EXPECT_EQ(fs::file_size(item.dest.string() + ".part"), 10'000u);
}

TEST_F(Download, AbortsAttemptAfterThePerFileTimeLimit) {
  const auto item = serve("a.deb", 10'000);
  server_.set_rules(R"({"/a.deb": {"stall_before": 60}})");
  options_.max_attempts = 1;
  options_.low_speed_time = 60s;
  options_.per_file_max_time = 700ms;
  const auto started = std::chrono::steady_clock::now();
  const auto results = run({item});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_FALSE(results[0].ok);
  EXPECT_NE(results[0].error.find("Timeout"), std::string::npos) << results[0].error;
  EXPECT_NE(results[0].error.find("per-file time limit of 700 ms reached"), std::string::npos) << results[0].error;
}

TEST_F(Download, StopsEverythingAtTheTotalTimeLimit) {
  const auto fast = serve("fast.deb", 1'000);
  const auto slow = serve("slow.deb", 10'000);
  server_.set_rules(R"({"/slow.deb": {"stall_at": 5000, "stall_for": 60}})");
  options_.low_speed_time = 60s;
  options_.total_time_limit = 1500ms;
  const auto started = std::chrono::steady_clock::now();
  const auto results = run({fast, slow});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(results[0].ok) << results[0].error;
  ASSERT_FALSE(results[1].ok);
  EXPECT_NE(results[1].error.find("total time limit"), std::string::npos) << results[1].error;
  EXPECT_FALSE(fs::exists(slow.dest));
}

TEST_F(Download, StopsEverythingSoonWhenCancelled) {
  const auto slow = serve("slow.deb", 10'000);
  const auto queued = serve("queued.deb", 1'000);
  server_.set_rules(R"({"/slow.deb": {"stall_at": 5000, "stall_for": 60}})");
  options_.workers = 1;
  options_.low_speed_time = 60s;
  const auto started = std::chrono::steady_clock::now();
  callbacks_.cancelled = [&] { return std::chrono::steady_clock::now() - started > 1s; };
  const auto results = run({slow, queued});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  for (const auto& r : results) {
    EXPECT_FALSE(r.ok) << r.url;
    EXPECT_NE(r.error.find("cancelled"), std::string::npos) << r.error;
  }
  EXPECT_FALSE(fs::exists(slow.dest));
  EXPECT_FALSE(fs::exists(queued.dest));
}

TEST_F(Download, RejectsHashMismatchAndKeepsNothing) {
  auto item = serve("a.deb", 10'000);
  item.sha256 = sha256_of("something else");
  const auto results = run({item});
  ASSERT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].attempts, 1u);  // the server sent what it has: retrying cannot help
  EXPECT_NE(results[0].error.find("sha256 is " + *serve("b.deb", 10'000).sha256), std::string::npos)
      << results[0].error;
  expect_nothing_left(item);
}

TEST_F(Download, RejectsBodyLongerThanExpected) {
  auto item = serve("a.deb", 10'000);
  item.size = 4'000;
  const auto results = run({item});
  ASSERT_FALSE(results[0].ok);
  EXPECT_NE(results[0].error.find("more than the expected 4000 bytes"), std::string::npos) << results[0].error;
  expect_nothing_left(item);
}

// An index, key or InRelease has no size to expect: an endless or huge body
// stops at the cap the supervisor set for its kind, instead of filling the disk.
TEST_F(Download, CapsABodyOfUnknownSize) {
  auto capped = serve("InRelease", 300'000);
  capped.sha256.reset();
  capped.size.reset();
  capped.max_size = 64 * 1024;
  auto fitting = serve("Packages.xz", 60'000);
  fitting.sha256.reset();
  fitting.size.reset();
  fitting.max_size = 64 * 1024;
  const auto results = run({capped, fitting});
  ASSERT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].attempts, 1u);
  EXPECT_NE(results[0].error.find("'" + capped.url + "': larger than the cap of 65536 bytes"), std::string::npos)
      << results[0].error;
  expect_nothing_left(capped);
  ASSERT_TRUE(results[1].ok) << results[1].error;
  expect_downloaded(fitting);
}

TEST_F(Download, RefusesPlainHttpUnlessSignatureChecked) {
  auto item = serve("a.deb", 100);
  item.signature_checked = false;
  try {
    run({item});
    FAIL() << "plain http was accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find(item.url), std::string::npos) << e.what();
  }
  EXPECT_TRUE(requests_for("a.deb").empty());
}

TEST_F(Download, WarnsWhenUsingPlainHttp) {
  const auto item = serve("a.deb", 100);
  std::vector<std::string> warnings;
  callbacks_.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  ASSERT_TRUE(run({item})[0].ok);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(item.url), std::string::npos);
}

// The warning says what anchors each file: an unsigned repomd.xml and what it
// lists, or a trusted repository's files, are not "checked against a signature".
TEST_F(Download, PlainHttpWarningSaysWhatAnchorsTheContent) {
  auto signed_index = serve("primary.xml.zst", 100);
  auto unsigned_repomd = serve("repomd.xml", 100);
  unsigned_repomd.checked_by = CheckedBy::kPackageSignatures;
  auto trusted_index = serve("Packages.xz", 100);
  trusted_index.checked_by = CheckedBy::kNothing;
  std::vector<std::string> warnings;
  callbacks_.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  for (const auto& result : run({signed_index, unsigned_repomd, trusted_index})) ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], "Downloading '" + signed_index.url +
                             "' over plain http; its content is checked against a signature");
  EXPECT_EQ(warnings[1], "Downloading '" + unsigned_repomd.url +
                             "' over plain http; its content is not signed; packages are checked against their own "
                             "signatures");
  EXPECT_EQ(warnings[2], "Downloading '" + trusted_index.url +
                             "' over plain http; its content is not signed: its repository is marked trusted");
}

// A build downloads some 160 packages from one repository: one note per
// server and kind of anchor, with the number of files, not one per file.
TEST_F(Download, PlainHttpNoteIsPrintedOncePerServerAndAnchor) {
  std::vector<DownloadItem> items = {serve("a.deb", 10), serve("b.deb", 20), serve("c.deb", 30)};
  auto unsigned_repomd = serve("repomd.xml", 40);
  unsigned_repomd.checked_by = CheckedBy::kPackageSignatures;
  items.insert(items.begin() + 1, unsigned_repomd);
  std::vector<std::string> warnings;
  callbacks_.on_warning = [&](std::string_view w) { warnings.emplace_back(w); };
  for (const auto& result : run(items)) ASSERT_TRUE(result.ok) << result.error;
  const auto directory = items[0].url.substr(0, items[0].url.rfind('/') + 1);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0], "Downloading 3 files from '" + directory +
                             "' over plain http; their content is checked against a signature");
  EXPECT_EQ(warnings[1], "Downloading '" + unsigned_repomd.url +
                             "' over plain http; its content is not signed; packages are checked against their own "
                             "signatures");
}

TEST_F(Download, RejectsMalformedItems) {
  struct Case {
    const char* name;
    DownloadItem item;
  };
  const Case cases[] = {
      // Only http(s) reaches the network.
      {"file scheme", {"file:///etc/passwd", out_.path() / "x", std::nullopt, std::nullopt, true}},
      // The hash must be comparable with ours.
      {"uppercase hash", {server_.url("a"), out_.path() / "a", std::string(64, 'A'), std::nullopt, true}},
      // A directory is no destination.
      {"no file name", {server_.url("a"), out_.path() / "", std::nullopt, std::nullopt, true}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THROW(run({c.item}), base::Error);
  }
}

TEST_F(Download, SkipsFilesAlreadyPresentWithTheExpectedHash) {
  const auto item = serve("a.deb", 1'000);
  ASSERT_TRUE(run({item})[0].ok);
  const auto again = run({item});
  ASSERT_TRUE(again[0].ok);
  EXPECT_TRUE(again[0].already_present);
  EXPECT_EQ(requests_for("a.deb").size(), 1u);
}

TEST_F(Download, ReportsProgressUpToTheTotal) {
  std::vector<DownloadItem> items = {serve("a.deb", 100'000), serve("b.deb", 20'000)};
  std::vector<Progress> reports;
  callbacks_.on_progress = [&](const Progress& p) { reports.push_back(p); };
  run(items);
  ASSERT_FALSE(reports.empty());
  const Progress& last = reports.back();
  EXPECT_EQ(last.files_done, 2u);
  EXPECT_EQ(last.files_total, 2u);
  EXPECT_EQ(last.bytes_done, 120'000u);
  EXPECT_EQ(last.bytes_total, 120'000u);
  EXPECT_GT(last.bytes_per_second, 0);
  for (std::size_t i = 1; i < reports.size(); ++i) EXPECT_GE(reports[i].files_done, reports[i - 1].files_done);
}

TEST_F(Download, UsesTheProxyFromTheEnvironment) {
  serve("a.deb", 1'000);
  const DownloadItem item{"http://mirror.invalid/a.deb", out_.path() / "a.deb", *serve("a.deb", 1'000).sha256,
                          1'000, true};
  ::setenv("http_proxy", ("http://127.0.0.1:" + std::to_string(server_.port())).c_str(), 1);
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  const auto results = run({item});
  ::unsetenv("http_proxy");
  ASSERT_TRUE(results[0].ok) << results[0].error;
  const auto requests = requests_for("a.deb");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests[0]["proxied"].get<bool>());
}

}  // namespace
}  // namespace stage::fetcher
