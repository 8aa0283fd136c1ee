// The disk maker client against the stage's own decoder: what the supervisor
// encodes is what stage-diskmaker reads.
#include "stages/diskmaker/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "stages/diskmaker/diskmaker_stage.hpp"

namespace stage::diskmaker {
namespace {

client::Request sample_request() {
  client::Request request;
  request.root_dir = ipc::FdReference::of_path("/ws/root", true);
  request.table_type = client::TableType::MBR;
  request.disk_size = 1u << 30;
  client::Partition esp{"esp", 1, "EFI", "ef", 1u << 20, 64u << 20, "vfat", "ESP", "/boot/efi", "umask=0077",
                        {"boot", "esp"}, "ABCD-1234", ""};
  client::Partition root{"root", 0, "root", "", 64u << 20, 0, "ext4", "rootfs", "/", "", {}, "uuid-root", "part-root"};
  request.partitions = {esp, root};
  request.bootloader = {"legacy", "grub"};
  request.kernel_cmdline = "console=ttyS0";
  request.uki = true;
  request.artifacts = {{"raw", "none"}, {"qcow2", "zstd"}};
  request.output_dir = ipc::FdReference::of_path("/ws/out", true);
  request.output_name = "image-1.0";
  return request;
}

TEST(DiskmakerClient, RequestReachesTheStageDecoder) {
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::DiskmakerRequest>();
  client::encode(sample_request(), builder);
  const DiskRequest decoded = decode_request(builder.asReader());
  EXPECT_EQ(decoded.layout.table, TableType::kMbr);
  EXPECT_EQ(decoded.layout.disk_size, 1u << 30);
  ASSERT_EQ(decoded.layout.partitions.size(), 2u);
  const PartitionSpec& esp = decoded.layout.partitions[0];
  EXPECT_EQ(esp.id, "esp");
  EXPECT_EQ(esp.index, 1u);
  EXPECT_EQ(esp.name, "EFI");
  EXPECT_EQ(esp.type, "ef");
  EXPECT_EQ(esp.start, 1u << 20);
  EXPECT_EQ(esp.end, 64u << 20);
  EXPECT_EQ(esp.fs_type, "vfat");
  EXPECT_EQ(esp.fs_label, "ESP");
  EXPECT_EQ(esp.mount_point, "/boot/efi");
  EXPECT_EQ(esp.flags, (std::vector<std::string>{"boot", "esp"}));
  EXPECT_EQ(esp.fs_uuid, "ABCD-1234");
  EXPECT_EQ(decoded.layout.partitions[1].part_uuid, "part-root");
  ASSERT_EQ(decoded.artifacts.size(), 2u);
  EXPECT_EQ(decoded.artifacts[1].type, "qcow2");
  EXPECT_EQ(decoded.artifacts[1].compression, "zstd");
  EXPECT_EQ(decoded.output_name, "image-1.0");
  EXPECT_EQ(decoded.phase, DiskPhase::kWhole);
  // What run_request reads beside decode_request.
  const auto r = builder.asReader();
  EXPECT_EQ(std::string(r.getPartitions()[0].getMountOptions().cStr()), "umask=0077");
  EXPECT_EQ(ipc::Bootloader::decode(r.getBootloader()), (ipc::Bootloader{"legacy", "grub"}));
  EXPECT_EQ(std::string(r.getKernelCmdline().cStr()), "console=ttyS0");
  EXPECT_TRUE(r.getUki());
  EXPECT_EQ(ipc::FdReference::decode(r.getRootDir()), ipc::FdReference::of_path("/ws/root", true));
  EXPECT_EQ(ipc::FdReference::decode(r.getOutputDir()), ipc::FdReference::of_path("/ws/out", true));
}

TEST(DiskmakerClient, PhaseReachesTheStageDecoder) {
  for (const auto& [phase, expected] : {std::pair{client::Phase::PARTITIONS, DiskPhase::kPartitions},
                                        std::pair{client::Phase::FINISH, DiskPhase::kFinish}}) {
    capnp::MallocMessageBuilder message;
    auto builder = message.initRoot<ipc::proto::DiskmakerRequest>();
    client::Request request = sample_request();
    request.phase = phase;
    client::encode(request, builder);
    EXPECT_EQ(decode_request(builder.asReader()).phase, expected);
  }
}

TEST(DiskmakerClient, ResultDecodes) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::DiskmakerResult>();
  auto artifacts = result.initArtifacts(1);
  artifacts[0].setPath("/ws/out/image-1.0.qcow2");
  artifacts[0].setType("qcow2");
  artifacts[0].setSha256("h");
  artifacts[0].setSize(99);
  auto partitions = result.initPartitions(1);
  partitions[0].setId("root");
  partitions[0].setPartUuid("p");
  partitions[0].setFsUuid("f");
  const client::Result decoded = client::decode(result.asReader());
  ASSERT_EQ(decoded.artifacts.size(), 1u);
  EXPECT_EQ(decoded.artifacts[0].path, "/ws/out/image-1.0.qcow2");
  EXPECT_EQ(decoded.artifacts[0].type, "qcow2");
  EXPECT_EQ(decoded.artifacts[0].sha256, "h");
  EXPECT_EQ(decoded.artifacts[0].size, 99u);
  ASSERT_EQ(decoded.partitions.size(), 1u);
  EXPECT_EQ(decoded.partitions[0].id, "root");
  EXPECT_EQ(decoded.partitions[0].part_uuid, "p");
  EXPECT_EQ(decoded.partitions[0].fs_uuid, "f");
}

}  // namespace
}  // namespace stage::diskmaker
