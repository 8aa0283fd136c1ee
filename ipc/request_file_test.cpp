#include "ipc/request_file.hpp"

#include <capnp/serialize-text.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "build_info.hpp"
#include "base/error.hpp"
#include "ipc/stage_kind.hpp"
#include "ipc/stage_main.hpp"

namespace ipc {
namespace {

using proto::StageKind;

// The first ```json block of docs/stages/<name>.md.
std::string doc_example(StageKind kind) {
  const std::string path = std::string(OIC_SOURCE_ROOT) + "/docs/stages/" +
                           std::string(to_string(kind)) + ".md";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto start = doc.find("```json\n");
  const auto end = doc.find("```", start + 8);
  if (start == std::string::npos || end == std::string::npos) {
    ADD_FAILURE() << "no ```json block in " << path;
    return {};
  }
  return doc.substr(start + 8, end - start - 8);
}

std::string to_text(proto::StageRequest::Reader request) {
  return capnp::TextCodec().encode(request).cStr();
}

TEST(RequestFile, ParsesTheJsonExampleOfEveryStageDoc) {
  for (auto kind : kAllStageKinds) {
    SCOPED_TRACE(to_string(kind));
    const auto json = doc_example(kind);
    ASSERT_FALSE(json.empty());
    const Frame frame = parse_request(json, RequestFormat::kJson, kind);
    const auto request = frame.message().getRequest();
    EXPECT_EQ(request_kind(request), kind);
    EXPECT_EQ(request.getFdCount(), 0u);
  }
}

TEST(RequestFile, ParsesTheTextFormOfEveryStageDocTheSame) {
  for (auto kind : kAllStageKinds) {
    SCOPED_TRACE(to_string(kind));
    const Frame from_json = parse_request(doc_example(kind), RequestFormat::kJson, kind);
    const std::string text = to_text(from_json.message().getRequest());
    const Frame from_text = parse_request(text, RequestFormat::kText, kind);
    EXPECT_EQ(to_text(from_text.message().getRequest()), text);
  }
}

TEST(RequestFile, KeepsTheValuesOfTheExamples) {
  const Frame fetcher = parse_request(doc_example(StageKind::FETCHER), RequestFormat::kJson,
                                      StageKind::FETCHER);
  const auto f = fetcher.message().getRequest();
  EXPECT_EQ(f.getSourceDateEpoch(), 1700000000);
  EXPECT_EQ(f.getFetcher().getDownloads()[0].getExpectedSize(), 1484356);
  EXPECT_EQ(f.getFetcher().getDownloads()[1].getExpectedSize(), -1);  // the default: unknown
  EXPECT_EQ(f.getFetcher().getOutputDir().getSlot(), -1);
  EXPECT_EQ(f.getFetcher().getOutputDir().getPath(), "/out");

  const Frame disk = parse_request(doc_example(StageKind::DISKMAKER), RequestFormat::kJson,
                                   StageKind::DISKMAKER);
  const auto d = disk.message().getRequest().getDiskmaker();
  EXPECT_EQ(d.getTableType(), proto::DiskmakerRequest::TableType::GPT);
  EXPECT_EQ(d.getDiskSize(), 4294967296u);
  EXPECT_EQ(d.getPartitions()[1].getFlags().size(), 0u);
  EXPECT_EQ(d.getPartitions()[0].getFlags()[0], "esp");

  const Frame installer = parse_request(doc_example(StageKind::INSTALLER), RequestFormat::kJson,
                                        StageKind::INSTALLER);
  const auto commands = installer.message().getRequest().getInstaller().getCommands();
  EXPECT_EQ(commands[0].which(), proto::InstallerRequest::Command::ARGV);
  EXPECT_EQ(commands[1].which(), proto::InstallerRequest::Command::SCRIPT);
}

TEST(RequestFile, RejectsBadRequestsWithInvalidInput) {
  struct Case {
    const char* name;
    std::string content;
    RequestFormat format;
    const char* expected;
  };
  const Case cases[] = {
      // Running the wrong stage binary on a request.
      {"other stage", R"({"verifier": {}})", RequestFormat::kJson, "not a request for the fetcher stage"},
      // Not JSON at all.
      {"broken json", R"({"fetcher": )", RequestFormat::kJson, "Failed to parse JSON"},
      // A 64-bit integer that is not a number.
      {"bad number", R"({"fetcher": {}, "sourceDateEpoch": "x"})", RequestFormat::kJson,
       "Failed to parse JSON"},
      // An enumerant the schema does not have.
      {"bad enum", R"({"fetcher": {"proxy": {}}, "resolver": {"family": {"deb": {"essential": "most"}}}})",
       RequestFormat::kJson, "Failed to parse JSON"},
      // A misspelt key is named with its place, not silently ignored.
      {"unknown top key", R"({"fetcher": {}, "sourceDateEpok": "1"})", RequestFormat::kJson,
       "unknown key 'sourceDateEpok'"},
      {"unknown nested key", R"({"fetcher": {"downloads": [{"url": "http://x/a"}, {"destNam": "a"}]}})",
       RequestFormat::kJson, "unknown key 'fetcher.downloads[1].destNam'"},
      {"unknown key in a nested struct", R"({"fetcher": {"proxy": {"htp": ""}}})", RequestFormat::kJson,
       "unknown key 'fetcher.proxy.htp'"},
      // A request file cannot carry fds.
      {"fd count", R"({"fetcher": {}, "fdCount": 2})", RequestFormat::kJson, "fds attached"},
      // Text format with a syntax error.
      {"broken text", "(fetcher = (workers = ))", RequestFormat::kText, "Failed to parse text"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      parse_request(c.content, c.format, StageKind::FETCHER);
      ADD_FAILURE() << "expected an Error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
    }
  }
}

TEST(RequestFile, DetectsTheFormatByExtensionThenContent) {
  EXPECT_EQ(detect_request_format("r.json", "(x = 1)"), RequestFormat::kJson);
  EXPECT_EQ(detect_request_format("r.capnp.txt", "{"), RequestFormat::kText);
  EXPECT_EQ(detect_request_format("request", "  \n{\"verifier\": {}}"), RequestFormat::kJson);
  EXPECT_EQ(detect_request_format("request", "(verifier = ())"), RequestFormat::kText);
}

TEST(RequestFile, StageRunsARequestFileAndPrintsTheResultAsJson) {
  const std::string path = ::testing::TempDir() + "/diskmaker_request.capnp.txt";
  std::ofstream(path) << "(diskmaker = (diskSize = 1024, outputName = \"x\"))";
  const char* argv[] = {"stage-diskmaker", "--request", path.c_str(), nullptr};
  ::testing::internal::CaptureStdout();
  const int code = run_stage(3, const_cast<char**>(argv), StageKind::DISKMAKER,
                             [](proto::StageRequest::Reader request, StageContext&,
                                proto::StageResult::Builder result) {
                               auto disk = result.initDiskmaker().initArtifacts(1)[0];
                               disk.setPath(std::string("/out/") +
                                            request.getDiskmaker().getOutputName().cStr() + ".raw");
                               disk.setSize(42);
                             });
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("\"path\": \"/out/x.raw\""), std::string::npos) << out;
}

TEST(RequestFile, MissingFileNamesThePath) {
  try {
    read_request_file("/nonexistent/request.json", StageKind::DISKMAKER);
    FAIL() << "expected an Error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("'/nonexistent/request.json'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ipc
