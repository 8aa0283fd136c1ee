// The fetcher client against the stage's own decoder: what the supervisor
// encodes is what stage-fetcher reads.
#include "stages/fetcher/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "stages/fetcher/fetcher_stage.hpp"

namespace stage::fetcher {
namespace {

TEST(FetcherClient, RequestReachesTheStageDecoder) {
  client::Request request;
  const std::string sha(64, 'a');
  request.downloads = {{"https://example.invalid/a.deb", "a.deb", sha, 1234, 99},
                       {"http://example.invalid/InRelease", "r_InRelease", "", -1, 4096},
                       {"http://example.invalid/repomd.xml", "r_repomd.xml", "", -1, 4096,
                        client::CheckedBy::kPackageSignatures},
                       {"http://example.invalid/Packages", "t_Packages", "", -1, 4096, client::CheckedBy::kNothing}};
  request.output_dir = ipc::FdReference::of_path("/out", true);
  request.workers = 7;
  request.retries = 5;
  request.per_file_timeout_sec = 11;
  request.total_timeout_sec = 22;
  request.allow_plain_http = true;
  request.proxy = {"http://proxy:1", "http://proxy:2", "localhost"};
  request.user_agent = "oic-test";
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::FetcherRequest>();
  client::encode(request, builder);

  const FetchRequest decoded = decode_request(builder.asReader(), 42);
  ASSERT_EQ(decoded.items.size(), 4u);
  EXPECT_EQ(decoded.items[0].url, "https://example.invalid/a.deb");
  EXPECT_EQ(decoded.items[0].dest, "a.deb");
  EXPECT_EQ(decoded.items[0].sha256, sha);
  EXPECT_EQ(decoded.items[0].size, 1234u);
  EXPECT_EQ(decoded.items[0].max_size, 99u);
  EXPECT_TRUE(decoded.items[0].signature_checked);
  EXPECT_EQ(decoded.items[1].dest, "r_InRelease");
  EXPECT_FALSE(decoded.items[1].sha256.has_value());
  EXPECT_FALSE(decoded.items[1].size.has_value());
  EXPECT_EQ(decoded.items[1].max_size, 4096u);
  EXPECT_EQ(decoded.items[1].checked_by, CheckedBy::kSignature);
  EXPECT_EQ(decoded.items[2].checked_by, CheckedBy::kPackageSignatures);
  EXPECT_EQ(decoded.items[3].checked_by, CheckedBy::kNothing);
  EXPECT_EQ(decoded.options.dest_dir_fd, 42);
  EXPECT_EQ(decoded.options.workers, 7u);
  EXPECT_EQ(decoded.options.max_attempts, 6u);
  EXPECT_EQ(decoded.options.per_file_max_time, std::chrono::seconds(11));
  EXPECT_EQ(decoded.options.total_time_limit, std::chrono::seconds(22));
  EXPECT_EQ(decoded.http_proxy, "http://proxy:1");
  EXPECT_EQ(decoded.https_proxy, "http://proxy:2");
  EXPECT_EQ(decoded.no_proxy, "localhost");
  EXPECT_EQ(ipc::FdReference::decode(builder.asReader().getOutputDir()), request.output_dir);
  EXPECT_EQ(std::string(builder.asReader().getUserAgent().cStr()), "oic-test");
}

TEST(FetcherClient, DefaultsAreTheSchemas) {
  capnp::MallocMessageBuilder encoded, schema;
  client::encode(client::Request{}, encoded.initRoot<ipc::proto::FetcherRequest>());
  const auto a = encoded.getRoot<ipc::proto::FetcherRequest>().asReader();
  const auto b = schema.initRoot<ipc::proto::FetcherRequest>().asReader();
  EXPECT_EQ(a.getWorkers(), b.getWorkers());
  EXPECT_EQ(a.getRetries(), b.getRetries());
  EXPECT_EQ(a.getPerFileTimeoutSec(), b.getPerFileTimeoutSec());
  EXPECT_EQ(a.getTotalTimeoutSec(), b.getTotalTimeoutSec());
  EXPECT_EQ(a.getAllowPlainHttp(), b.getAllowPlainHttp());
  capnp::MallocMessageBuilder one;
  client::Request with_download;
  with_download.downloads.emplace_back();
  client::encode(with_download, one.initRoot<ipc::proto::FetcherRequest>());
  capnp::MallocMessageBuilder plain;
  auto plain_list = plain.initRoot<ipc::proto::FetcherRequest>().initDownloads(1);
  const auto d = one.getRoot<ipc::proto::FetcherRequest>().asReader().getDownloads()[0];
  EXPECT_EQ(d.getMaxSize(), plain_list[0].asReader().getMaxSize());
  EXPECT_EQ(d.getExpectedSize(), plain_list[0].asReader().getExpectedSize());
  EXPECT_EQ(d.getCheckedBy(), plain_list[0].asReader().getCheckedBy());
}

TEST(FetcherClient, ResultDecodes) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::FetcherResult>();
  auto files = result.initFiles(2);
  files[0].setUrl("u0");
  files[0].setDestName("d0");
  files[0].setSha256("s0");
  files[0].setSize(10);
  files[0].setResumed(true);
  files[0].setAttempts(3);
  files[1].setDestName("d1");
  files[1].setAttempts(1);
  result.setBytesTotal(10);
  const client::Result decoded = client::decode(result.asReader());
  ASSERT_EQ(decoded.files.size(), 2u);
  EXPECT_EQ(decoded.files[0].url, "u0");
  EXPECT_EQ(decoded.files[0].dest_name, "d0");
  EXPECT_EQ(decoded.files[0].sha256, "s0");
  EXPECT_EQ(decoded.files[0].size, 10u);
  EXPECT_TRUE(decoded.files[0].resumed);
  EXPECT_EQ(decoded.files[0].attempts, 3u);
  EXPECT_EQ(decoded.files[1].dest_name, "d1");
  EXPECT_FALSE(decoded.files[1].resumed);
  EXPECT_EQ(decoded.bytes_total, 10u);
}

}  // namespace
}  // namespace stage::fetcher
