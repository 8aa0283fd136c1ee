// The resolver client: what the supervisor encodes is what the request
// carries field by field, and a result reads back as the stage wrote it.
#include "stages/resolver/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace stage::resolver {
namespace {

TEST(ResolverClient, RequestCarriesEveryField) {
  client::Request request;
  request.indexes = {{"main", ipc::FdReference::of_slot(3), "https://example.invalid/debian", 500, {"lib*", "dash"}}};
  request.requested = {{"dash", "= 0.5", client::PackageSource::ESSENTIAL}, {"linux-image-*", "", client::PackageSource::KERNEL}};
  request.architecture = "arm64";
  request.essential = client::EssentialMode::ESSENTIAL_ONLY;
  request.excluded = {"systemd"};
  request.emit_dot_graph = true;
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::ResolverRequest>();
  client::encode(request, builder);
  const auto r = builder.asReader();
  ASSERT_EQ(r.getIndexes().size(), 1u);
  const auto index = r.getIndexes()[0];
  EXPECT_EQ(std::string(index.getRepoName().cStr()), "main");
  EXPECT_EQ(index.getPackages().getSlot(), 3);
  EXPECT_EQ(std::string(index.getBaseUrl().cStr()), "https://example.invalid/debian");
  EXPECT_EQ(index.getPriority(), 500);
  ASSERT_EQ(index.getAllowPackages().size(), 2u);
  EXPECT_EQ(std::string(index.getAllowPackages()[1].cStr()), "dash");
  ASSERT_EQ(r.getRequested().size(), 2u);
  EXPECT_EQ(std::string(r.getRequested()[0].getName().cStr()), "dash");
  EXPECT_EQ(std::string(r.getRequested()[0].getVersion().cStr()), "= 0.5");
  EXPECT_EQ(r.getRequested()[0].getSource(), client::PackageSource::ESSENTIAL);
  EXPECT_EQ(r.getRequested()[1].getSource(), client::PackageSource::KERNEL);
  EXPECT_EQ(std::string(r.getArchitecture().cStr()), "arm64");
  EXPECT_EQ(r.getFamily().getDeb().getEssential(), client::EssentialMode::ESSENTIAL_ONLY);
  ASSERT_EQ(r.getExcluded().size(), 1u);
  EXPECT_EQ(std::string(r.getExcluded()[0].cStr()), "systemd");
  EXPECT_TRUE(r.getEmitDotGraph());
}

TEST(ResolverClient, AnRpmRequestCarriesPrimaryFilelistsAndTheFamily) {
  client::Request request;
  client::Index index{.repo_name = "base", .base_url = "http://127.0.0.1:1/azl"};
  index.rpm = client::RpmIndex{ipc::FdReference::of_slot(4), ipc::FdReference::of_slot(5)};
  request.indexes = {index};
  request.family = client::Family::kRpm;
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::ResolverRequest>();
  client::encode(request, builder);
  const auto r = builder.asReader();
  ASSERT_TRUE(r.getIndexes()[0].isRpm());
  EXPECT_EQ(r.getIndexes()[0].getRpm().getPrimary().getSlot(), 4);
  EXPECT_EQ(r.getIndexes()[0].getRpm().getFilelists().getSlot(), 5);
  EXPECT_TRUE(r.getFamily().isRpm());
}

TEST(ResolverClient, DefaultsAreTheSchemas) {
  capnp::MallocMessageBuilder encoded, schema;
  client::Request request;
  request.requested.emplace_back();
  client::encode(request, encoded.initRoot<ipc::proto::ResolverRequest>());
  auto plain = schema.initRoot<ipc::proto::ResolverRequest>();
  plain.initRequested(1);
  const auto a = encoded.getRoot<ipc::proto::ResolverRequest>().asReader();
  const auto b = plain.asReader();
  EXPECT_EQ(a.getFamily().getDeb().getEssential(), b.getFamily().getDeb().getEssential());
  EXPECT_EQ(a.getEmitDotGraph(), b.getEmitDotGraph());
  EXPECT_EQ(a.getRequested()[0].getSource(), b.getRequested()[0].getSource());
}

TEST(ResolverClient, ResultDecodes) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::ResolverResult>();
  auto packages = result.initPackages(1);
  auto p = packages[0];
  p.setName("dash");
  p.setVersion("0.5");
  p.setArchitecture("amd64");
  p.setRepo("main");
  p.setUrl("https://example.invalid/dash.deb");
  p.setFilename("pool/d/dash.deb");
  p.setSha256("h");
  p.setSize(12);
  p.setSource(client::PackageSource::BOOTLOADER);
  p.initDeb().setEssential(true);
  auto pre = p.getDeb().initPreDepends(2);
  pre.set(0, "libc6");
  pre.set(1, "debconf");
  auto order = result.initInstallOrder(2);
  order.set(0, "libc6");
  order.set(1, "dash");
  result.setDotGraph("digraph {}");

  const client::Result decoded = client::decode(result.asReader());
  ASSERT_EQ(decoded.packages.size(), 1u);
  const client::Package& d = decoded.packages[0];
  EXPECT_EQ(d.name, "dash");
  EXPECT_EQ(d.version, "0.5");
  EXPECT_EQ(d.architecture, "amd64");
  EXPECT_EQ(d.repo, "main");
  EXPECT_EQ(d.url, "https://example.invalid/dash.deb");
  EXPECT_EQ(d.filename, "pool/d/dash.deb");
  EXPECT_EQ(d.sha256, "h");
  EXPECT_EQ(d.size, 12u);
  EXPECT_EQ(d.source, client::PackageSource::BOOTLOADER);
  EXPECT_TRUE(d.essential);
  EXPECT_EQ(d.pre_depends, (std::vector<std::string>{"libc6", "debconf"}));
  EXPECT_EQ(decoded.install_order, (std::vector<std::string>{"libc6", "dash"}));
  EXPECT_EQ(decoded.dot_graph, "digraph {}");
}

TEST(ResolverClient, AnRpmResultDecodesWithItsFamily) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::ResolverResult>();
  auto p = result.initPackages(1)[0];
  p.setName("bash");
  p.setVersion("1:5.2-1");
  p.setArchitecture("x86_64");
  p.setRpm();
  const client::Result decoded = client::decode(result.asReader());
  ASSERT_EQ(decoded.packages.size(), 1u);
  EXPECT_EQ(decoded.packages[0].family, client::Family::kRpm);
  EXPECT_EQ(decoded.packages[0].version, "1:5.2-1");
  EXPECT_TRUE(decoded.packages[0].pre_depends.empty());
}

TEST(ResolverClient, FilelistsNeededDecodes) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::ResolverResult>();
  auto needed = result.initFilelistsNeeded(2);
  needed.set(0, "/opt/oic/data/thing");
  needed.set(1, "/usr/libexec/tool");
  const client::Result decoded = client::decode(result.asReader());
  EXPECT_EQ(decoded.filelists_needed, (std::vector<std::string>{"/opt/oic/data/thing", "/usr/libexec/tool"}));
  EXPECT_TRUE(decoded.packages.empty());
}

}  // namespace
}  // namespace stage::resolver

