#include "stages/resolver/resolver_stage.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "base/error.hpp"

namespace stage::resolver {
namespace {

namespace proto = ipc::proto;

class ResolverStage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("resolver-stage-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    write("main-amd64",
          "Package: app\nVersion: 1.0\nArchitecture: amd64\nPre-Depends: libc6\nDepends: data\n"
          "Filename: pool/app.deb\nSize: 10\nSHA256: " + std::string(64, 'a') + "\n\n"
          "Package: libc6\nVersion: 2.36\nArchitecture: amd64\nEssential: yes\nMulti-Arch: same\n"
          "Filename: pool/libc6.deb\nSize: 20\nSHA256: " + std::string(64, 'b') + "\n");
    write("main-all", "Package: data\nVersion: 3\nArchitecture: all\nFilename: pool/data.deb\nSize: 30\n\n");
    write("vendor", "Package: data\nVersion: 9\nArchitecture: all\nFilename: v/data.deb\nSize: 40\n\n"
                    "Package: app\nVersion: 7\nArchitecture: amd64\nFilename: v/app.deb\nSize: 50\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  void add_index(proto::ResolverRequest::Builder r, unsigned i, const char* repo, const char* file, int priority,
                 std::vector<std::string> allow = {}) {
    auto idx = r.getIndexes()[i];
    idx.setRepoName(repo);
    idx.getPackages().setPath((dir_ / file).string());
    idx.setBaseUrl(std::string("http://127.0.0.1/") + repo);
    idx.setPriority(priority);
    auto list = idx.initAllowPackages(static_cast<unsigned>(allow.size()));
    for (unsigned j = 0; j < allow.size(); ++j) list.set(j, allow[j]);
  }

  // A request with main (two indexes) and vendor (allowPackages: data only).
  proto::ResolverRequest::Builder base_request(capnp::MallocMessageBuilder& message) {
    auto r = message.initRoot<proto::StageRequest>().initResolver();
    r.setArchitecture("amd64");
    r.initIndexes(3);
    add_index(r, 0, "main", "main-amd64", 500);
    add_index(r, 1, "main", "main-all", 500);
    add_index(r, 2, "vendor", "vendor", 900, {"data"});
    auto req = r.initRequested(1);
    req[0].setName("app");
    req[0].setSource(proto::PackageSource::KERNEL);
    r.getFamily().initDeb().setEssential(proto::ResolverRequest::EssentialMode::NONE);
    r.setEmitDotGraph(true);
    return r;
  }

  void run(capnp::MallocMessageBuilder& message, capnp::MallocMessageBuilder& out) {
    ipc::StageContext context(-1, proto::StageKind::RESOLVER, {});
    run_request(message.getRoot<proto::StageRequest>().asReader(), context, out.initRoot<proto::StageResult>());
  }

  std::filesystem::path dir_;
};

TEST_F(ResolverStage, ResolvesIndexesHandedOverByPath) {
  capnp::MallocMessageBuilder message, out;
  base_request(message);
  run(message, out);
  const auto result = out.getRoot<proto::StageResult>().asReader().getResolver();
  ASSERT_EQ(result.getPackages().size(), 3u);
  const auto app = result.getPackages()[0];
  EXPECT_EQ(std::string(app.getName()), "app");
  EXPECT_EQ(std::string(app.getVersion()), "1.0");  // vendor's app is not in its allowPackages
  EXPECT_EQ(app.getSource(), proto::PackageSource::KERNEL);
  ASSERT_EQ(app.getDeb().getPreDepends().size(), 1u);
  EXPECT_EQ(std::string(app.getDeb().getPreDepends()[0]), "libc6");
  const auto data = result.getPackages()[1];
  EXPECT_EQ(std::string(data.getRepo()), "vendor");  // higher priority
  EXPECT_EQ(std::string(data.getUrl()), "http://127.0.0.1/vendor/v/data.deb");
  EXPECT_EQ(data.getSource(), proto::PackageSource::DEPENDENCY);
  EXPECT_TRUE(result.getPackages()[2].getDeb().getEssential());
  ASSERT_EQ(result.getInstallOrder().size(), 3u);
  EXPECT_EQ(std::string(result.getInstallOrder()[2]), "app");
  EXPECT_NE(std::string(result.getDotGraph()).find("digraph"), std::string::npos);
}

TEST_F(ResolverStage, AppliesVersionConstraintsOfRequests) {
  capnp::MallocMessageBuilder message, out;
  auto r = base_request(message);
  add_index(r, 2, "vendor", "vendor", 900);  // now app 7 is visible too
  r.getRequested()[0].setVersion("<< 5");
  run(message, out);
  EXPECT_EQ(std::string(out.getRoot<proto::StageResult>().asReader().getResolver().getPackages()[0].getVersion()), "1.0");
}

TEST_F(ResolverStage, RejectsInvalidRequests) {
  struct Case {
    const char* name;
    std::function<void(proto::ResolverRequest::Builder)> edit;
    const char* error;
  };
  const Case cases[] = {
      {"no architecture", [](auto r) { r.setArchitecture(""); }, "invalid architecture ''"},
      {"architecture all", [](auto r) { r.setArchitecture("all"); }, "invalid architecture 'all'"},
      {"no indexes", [](auto r) { r.initIndexes(0); }, "no package indexes"},
      {"no repo name", [](auto r) { r.getIndexes()[0].setRepoName(""); }, "an index has no repoName"},
      // Two indexes of one repository must not disagree on its settings.
      {"disagreeing repo", [](auto r) { r.getIndexes()[1].setPriority(1); }, "indexes of repository 'main' disagree"},
      {"missing file", [](auto r) { r.getIndexes()[0].getPackages().setPath("/nonexistent/Packages"); },
       "Failed to open Packages index of repository 'main'"},
      {"bad constraint", [](auto r) { r.getRequested()[0].setVersion(">= x"); }, "Failed to parse version constraint"},
      {"empty name", [](auto r) { r.getRequested()[0].setName(""); }, "a requested package has no name"},
      {"unsatisfiable", [](auto r) { r.getRequested()[0].setName("nothing"); }, "cannot satisfy 'nothing'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    capnp::MallocMessageBuilder message, out;
    c.edit(base_request(message));
    try {
      run(message, out);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.error), std::string::npos) << e.what();
    }
  }
}

// An RPM request: primary and filelists by path, rpm's version syntax, and
// the result's rpm member and plain names in the installation order.
TEST_F(ResolverStage, ResolvesAnRpmRequest) {
  const std::string sum(64, 'c');
  write("primary.xml",
        "<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
        "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"3\">\n"
        "<package type=\"rpm\"><name>app</name><arch>x86_64</arch><version epoch=\"1\" ver=\"2.0\" rel=\"3\"/>"
        "<checksum type=\"sha256\" pkgid=\"YES\">" + std::string(64, 'a') + "</checksum>"
        "<location href=\"Packages/app.rpm\"/><size package=\"10\"/><format><rpm:requires>"
        "<rpm:entry name=\"/opt/data\"/><rpm:entry name=\"filesystem\" pre=\"1\"/></rpm:requires></format></package>\n"
        "<package type=\"rpm\"><name>data</name><arch>noarch</arch><version epoch=\"0\" ver=\"1\" rel=\"1\"/>"
        "<checksum type=\"sha256\" pkgid=\"YES\">" + std::string(64, 'b') + "</checksum>"
        "<location href=\"Packages/data.rpm\"/><size package=\"20\"/><format/></package>\n"
        "<package type=\"rpm\"><name>filesystem</name><arch>x86_64</arch><version epoch=\"0\" ver=\"1\" rel=\"1\"/>"
        "<checksum type=\"sha256\" pkgid=\"YES\">" + sum + "</checksum>"
        "<location href=\"Packages/filesystem.rpm\"/><size package=\"30\"/><format/></package>\n</metadata>\n");
  write("filelists.xml",
        "<?xml version=\"1.0\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"1\">"
        "<package pkgid=\"" + std::string(64, 'b') + "\" name=\"data\" arch=\"noarch\">"
        "<version epoch=\"0\" ver=\"1\" rel=\"1\"/><file>/opt/data</file></package></filelists>\n");
  capnp::MallocMessageBuilder message, out;
  auto r = message.initRoot<proto::StageRequest>().initResolver();
  r.setArchitecture("x86_64");
  auto index = r.initIndexes(1)[0];
  index.setRepoName("azl");
  index.setBaseUrl("http://127.0.0.1/azl");
  auto rpm = index.initRpm();
  rpm.initPrimary().setPath((dir_ / "primary.xml").string());
  rpm.initFilelists().setPath((dir_ / "filelists.xml").string());
  auto req = r.initRequested(1);
  req[0].setName("app");
  req[0].setVersion("< 1:3");  // strict in rpm's syntax
  r.getFamily().setRpm();
  r.setEmitDotGraph(true);
  run(message, out);
  const auto result = out.getRoot<proto::StageResult>().asReader().getResolver();
  ASSERT_EQ(result.getPackages().size(), 3u);
  const auto app = result.getPackages()[0];
  EXPECT_EQ(std::string(app.getVersion()), "1:2.0-3");
  EXPECT_EQ(std::string(app.getUrl()), "http://127.0.0.1/azl/Packages/app.rpm");
  EXPECT_EQ(std::string(app.getFilename()), "app.rpm");
  EXPECT_EQ(app.getSize(), 10u);
  EXPECT_TRUE(app.isRpm());
  EXPECT_EQ(result.getPackages()[1].getSource(), proto::PackageSource::DEPENDENCY);
  ASSERT_EQ(result.getInstallOrder().size(), 3u);
  EXPECT_EQ(std::string(result.getInstallOrder()[2]), "app");
  const std::string dot = result.getDotGraph();
  EXPECT_NE(dot.find("\"app:x86_64\" -> \"filesystem:x86_64\" [style=bold];"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"app:x86_64\" -> \"data:noarch\";"), std::string::npos) << dot;
}

TEST_F(ResolverStage, RefusesADebianIndexInAnRpmRequest) {
  capnp::MallocMessageBuilder message, out;
  base_request(message).getFamily().setRpm();
  try {
    run(message, out);
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("repository 'main' has a Debian index in an RPM request"), std::string::npos)
        << e.what();
  }
}

TEST(VersionConstraint, ParsesOperatorsAndBareVersions) {
  struct Case {
    const char* text;
    RelOp op;
    const char* version;
  };
  const Case cases[] = {
      {"", RelOp::kAny, ""},          {"= 1.2-3", RelOp::kEqual, "1.2-3"}, {">= 1:1.2", RelOp::kGreaterEqual, "1:1.2"},
      {"<<2", RelOp::kLess, "2"},     {">> 2", RelOp::kGreater, "2"},      {"<= 2~rc1", RelOp::kLessEqual, "2~rc1"},
      {"1.0", RelOp::kEqual, "1.0"},  // a bare version pins exactly
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const auto [op, version] = parse_version_constraint(c.text);
    EXPECT_EQ(op, c.op);
    EXPECT_EQ(version, c.version);
  }
  EXPECT_THROW(parse_version_constraint("=="), base::Error);
  EXPECT_THROW(parse_version_constraint("~= 1"), base::Error);
}

}  // namespace
}  // namespace stage::resolver
