// The verifier client: what the supervisor encodes is what the request
// carries field by field, and a result reads back as the stage wrote it.
#include "stages/verifier/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace stage::verifier {
namespace {

using ipc::FdReference;

client::Request sample_request() {
  client::Repository repo;
  repo.name = "main";
  repo.suite = "oic-stable";
  repo.architectures = {"amd64", "all"};
  repo.components = {"main", "contrib"};
  repo.in_release = FdReference::of_slot(0);
  repo.keys = {{FdReference::of_slot(1), "ABCD"}, {FdReference::of_path("/keys/k.asc"), ""}};
  repo.index_files = {{"main/binary-amd64/Packages.xz", FdReference::of_slot(2), FdReference::of_slot(3),
                       FdReference::of_slot(4)},
                      {"main/binary-amd64/Packages", FdReference::of_slot(5), std::nullopt, std::nullopt}};
  client::Repository detached = repo;
  detached.name = "extra";
  detached.detached = client::DetachedRelease{FdReference::of_slot(6), FdReference::of_slot(7)};
  detached.keys.clear();
  detached.index_files.clear();
  client::Request request;
  request.repositories = {repo, detached};
  request.packages = {{"dash", "main", FdReference::of_path("/pkgs/dash.deb"), std::string(64, 'b'), 77}};
  request.check_archive_contents = true;
  request.check_time = 1700000000;
  return request;
}

TEST(VerifierClient, RequestCarriesEveryField) {
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::VerifierRequest>();
  client::encode(sample_request(), builder);
  const auto request = builder.asReader();
  ASSERT_EQ(request.getRepositories().size(), 2u);
  const auto repo = request.getRepositories()[0];
  EXPECT_EQ(std::string(repo.getName().cStr()), "main");
  EXPECT_EQ(std::string(repo.getDeb().getSuite().cStr()), "oic-stable");
  ASSERT_EQ(repo.getDeb().getArchitectures().size(), 2u);
  EXPECT_EQ(std::string(repo.getDeb().getArchitectures()[1].cStr()), "all");
  ASSERT_EQ(repo.getDeb().getComponents().size(), 2u);
  EXPECT_EQ(std::string(repo.getDeb().getComponents()[1].cStr()), "contrib");
  ASSERT_TRUE(repo.getDeb().getReleaseFiles().isInRelease());
  EXPECT_EQ(repo.getDeb().getReleaseFiles().getInRelease().getSlot(), 0);
  ASSERT_EQ(repo.getKeys().size(), 2u);
  EXPECT_EQ(repo.getKeys()[0].getFile().getSlot(), 1);
  EXPECT_EQ(std::string(repo.getKeys()[0].getFingerprint().cStr()), "ABCD");
  EXPECT_EQ(std::string(repo.getKeys()[1].getFile().getPath().cStr()), "/keys/k.asc");
  EXPECT_EQ(repo.getKeys()[1].getFile().getSlot(), -1);
  ASSERT_EQ(repo.getIndexFiles().size(), 2u);
  const auto xz = repo.getIndexFiles()[0];
  EXPECT_EQ(std::string(xz.getRelativePath().cStr()), "main/binary-amd64/Packages.xz");
  EXPECT_EQ(xz.getFile().getSlot(), 2);
  ASSERT_TRUE(xz.hasUncompressedOut());
  EXPECT_EQ(xz.getUncompressedOut().getSlot(), 3);
  ASSERT_TRUE(xz.hasCachedUncompressed());
  EXPECT_EQ(xz.getCachedUncompressed().getSlot(), 4);
  // The stage opens an optional FdRef only when it is there.
  EXPECT_FALSE(repo.getIndexFiles()[1].hasUncompressedOut());
  EXPECT_FALSE(repo.getIndexFiles()[1].hasCachedUncompressed());
  const auto detached = request.getRepositories()[1].getDeb().getReleaseFiles();
  ASSERT_TRUE(detached.isDetached());
  EXPECT_EQ(detached.getDetached().getRelease().getSlot(), 6);
  EXPECT_EQ(detached.getDetached().getSignature().getSlot(), 7);
  ASSERT_EQ(request.getPackages().size(), 1u);
  const auto pkg = request.getPackages()[0];
  EXPECT_EQ(std::string(pkg.getName().cStr()), "dash");
  EXPECT_EQ(std::string(pkg.getRepo().cStr()), "main");
  EXPECT_EQ(std::string(pkg.getFile().getPath().cStr()), "/pkgs/dash.deb");
  EXPECT_EQ(std::string(pkg.getExpectedSha256().cStr()), std::string(64, 'b'));
  EXPECT_EQ(pkg.getExpectedSize(), 77);
  EXPECT_TRUE(request.getCheckArchiveContents());
  EXPECT_EQ(request.getCheckTime(), 1700000000);
}

TEST(VerifierClient, DefaultsAreTheSchemas) {
  capnp::MallocMessageBuilder encoded, schema;
  client::Request request;
  request.packages.emplace_back();
  client::encode(request, encoded.initRoot<ipc::proto::VerifierRequest>());
  auto plain = schema.initRoot<ipc::proto::VerifierRequest>();
  plain.initPackages(1);
  const auto a = encoded.getRoot<ipc::proto::VerifierRequest>().asReader();
  const auto b = plain.asReader();
  EXPECT_EQ(a.getCheckTime(), b.getCheckTime());
  EXPECT_EQ(a.getCheckArchiveContents(), b.getCheckArchiveContents());
  EXPECT_EQ(a.getPackages()[0].getExpectedSize(), b.getPackages()[0].getExpectedSize());
}

TEST(VerifierClient, ResultDecodes) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::VerifierResult>();
  auto repos = result.initVerifiedRepos(1);
  repos[0].setName("main");
  repos[0].setSignerFingerprint("FP");
  repos[0].setDate(5);
  repos[0].setValidUntil(9);
  repos[0].setSuite("stable");
  repos[0].setCodename("oicbook");
  repos[0].setAcquireByHash(true);
  auto listed = repos[0].initListedFiles(1);
  listed[0].setKind("primary");
  listed[0].setRelativePath("repodata/p.xml.gz");
  listed[0].setSha256("ls");
  listed[0].setSize(11);
  listed[0].setUncompressedSha256("lu");
  listed[0].setUncompressedSize(12);
  auto indexes = result.initVerifiedIndexes(2);
  indexes[0].setRepo("main");
  indexes[0].setRelativePath("p.xz");
  indexes[0].setSha256("s");
  indexes[0].setSize(3);
  indexes[0].setUncompressed(ipc::proto::VerifierResult::Index::Uncompressed::CACHED);
  indexes[0].setUncompressedSha256("u");
  indexes[0].setUncompressedSize(4);
  indexes[0].setCacheRefusal("stale");
  indexes[1].setUncompressed(ipc::proto::VerifierResult::Index::Uncompressed::WRITTEN);
  auto packages = result.initVerifiedPackages(1);
  packages[0].setName("dash");
  packages[0].setRepo("main");
  packages[0].setSha256("h");
  packages[0].setSize(8);
  auto failures = result.initFailures(1);
  failures[0].setItem("bad");
  failures[0].setReason("why");

  const client::Result decoded = client::decode(result.asReader());
  ASSERT_EQ(decoded.verified_repos.size(), 1u);
  const auto& repo = decoded.verified_repos[0];
  EXPECT_EQ(repo.name, "main");
  EXPECT_EQ(repo.signer_fingerprint, "FP");
  EXPECT_EQ(repo.date, 5);
  EXPECT_EQ(repo.valid_until, 9);
  EXPECT_EQ(repo.suite, "stable");
  EXPECT_EQ(repo.codename, "oicbook");
  EXPECT_TRUE(repo.acquire_by_hash);
  ASSERT_EQ(repo.listed_files.size(), 1u);
  const client::ListedFile* listed_file = repo.find_listed("repodata/p.xml.gz");
  ASSERT_NE(listed_file, nullptr);
  EXPECT_EQ(listed_file->kind, "primary");
  EXPECT_EQ(listed_file->sha256, "ls");
  EXPECT_EQ(listed_file->size, 11u);
  EXPECT_EQ(listed_file->uncompressed_sha256, "lu");
  EXPECT_EQ(listed_file->uncompressed_size, 12u);
  EXPECT_EQ(repo.find_listed("repodata/other"), nullptr);
  ASSERT_EQ(decoded.verified_indexes.size(), 2u);
  const auto& index = decoded.verified_indexes[0];
  EXPECT_EQ(index.repo, "main");
  EXPECT_EQ(index.relative_path, "p.xz");
  EXPECT_EQ(index.sha256, "s");
  EXPECT_EQ(index.size, 3u);
  EXPECT_EQ(index.uncompressed, client::Uncompressed::kCached);
  EXPECT_EQ(index.uncompressed_sha256, "u");
  EXPECT_EQ(index.uncompressed_size, 4u);
  EXPECT_EQ(index.cache_refusal, "stale");
  EXPECT_EQ(decoded.verified_indexes[1].uncompressed, client::Uncompressed::kWritten);
  ASSERT_EQ(decoded.verified_packages.size(), 1u);
  EXPECT_EQ(decoded.verified_packages[0].name, "dash");
  EXPECT_EQ(decoded.verified_packages[0].repo, "main");
  EXPECT_EQ(decoded.verified_packages[0].sha256, "h");
  EXPECT_EQ(decoded.verified_packages[0].size, 8u);
  ASSERT_EQ(decoded.failures.size(), 1u);
  EXPECT_EQ(decoded.failures[0].item, "bad");
  EXPECT_EQ(decoded.failures[0].reason, "why");
}

TEST(VerifierClient, RpmPackageKeysSelectTheRpmPackageFamily) {
  client::Request request = sample_request();
  request.rpm_package_keys = std::vector<client::RepositoryKeys>{
      {"azl3", {{FdReference::of_slot(8), "1234"}, {FdReference::of_path("/keys/b.asc"), ""}}}, {"empty", {}}};
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::VerifierRequest>();
  client::encode(request, builder);
  const auto family = builder.asReader().getPackageFamily();
  ASSERT_TRUE(family.isRpm());
  ASSERT_EQ(family.getRpm().size(), 2u);
  const auto azl3 = family.getRpm()[0];
  EXPECT_EQ(std::string(azl3.getRepo().cStr()), "azl3");
  ASSERT_EQ(azl3.getKeys().size(), 2u);
  EXPECT_EQ(azl3.getKeys()[0].getFile().getSlot(), 8);
  EXPECT_EQ(std::string(azl3.getKeys()[0].getFingerprint().cStr()), "1234");
  EXPECT_EQ(std::string(azl3.getKeys()[1].getFile().getPath().cStr()), "/keys/b.asc");
  EXPECT_EQ(family.getRpm()[1].getKeys().size(), 0u);
  // Without keys the packages are Debian's.
  client::encode(sample_request(), builder);
  EXPECT_TRUE(builder.asReader().getPackageFamily().isDeb());
}

TEST(VerifierClient, RpmRepositoryEncodesIntoTheRpmVariant) {
  client::Repository signed_repo;
  signed_repo.name = "azl";
  signed_repo.rpm = client::RpmRepomd{FdReference::of_slot(0), FdReference::of_slot(1)};
  signed_repo.keys = {{FdReference::of_slot(2), "ABCD"}};
  client::Repository unsigned_repo = signed_repo;
  unsigned_repo.rpm->signature.reset();
  client::Request request;
  request.repositories = {signed_repo, unsigned_repo};
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::VerifierRequest>();
  client::encode(request, out);
  const auto repos = out.asReader().getRepositories();
  ASSERT_TRUE(repos[0].isRpm());
  EXPECT_EQ(repos[0].getRpm().getRepomd().getSlot(), 0);
  ASSERT_TRUE(repos[0].getRpm().hasRepomdSignature());
  EXPECT_EQ(repos[0].getRpm().getRepomdSignature().getSlot(), 1);
  EXPECT_EQ(repos[0].getKeys()[0].getFile().getSlot(), 2);
  ASSERT_TRUE(repos[1].isRpm());
  EXPECT_FALSE(repos[1].getRpm().hasRepomdSignature());
}

}  // namespace
}  // namespace stage::verifier
