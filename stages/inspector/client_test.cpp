// The inspector's report survives the round trip through its schema: the
// stage's encode and the supervisor's decode agree; a NUL in a text field is refused.
#include "stages/inspector/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::inspector {
namespace {

Report sample() {
  Report r;
  r.table = {"gpt", "0F1E2D3C-0000-4000-8000-000000000001", 512, 34, 65502};
  r.partitions = {{1, "esp", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "AAAA", 2048, 22527, 20480 * 512, "vfat", "ESP",
                   "1234-ABCD", 0},
                  {2, "rootfs", "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "BBBB", 22528, 63487, 40960ULL * 512, "ext4",
                   "root", "3e31d09a-80b1-4299-9041-9b362de7ada7", 20971520}};
  r.root_partition = 2;
  r.os_release = {{"ID", "debian"}, {"VERSION_ID", "12"}};
  r.packages = {{"bash", "5.2.15-2+b2", "amd64"}};
  r.users = {{"root", 0, 0, "root", "/root", "/bin/bash"}};
  r.groups = {{"sudo", 27, {"debian", "ops"}}, {"root", 0, {}}};
  r.boot_files = {{1, "/EFI/BOOT/BOOTX64.EFI"}};
  r.boot_configs = {{1, "/loader/entries/debian.conf", "linux /vmlinuz\noptions root=x roothash=ab12\n"}};
  r.kernel_entries = {{"/loader/entries/debian.conf", "/vmlinuz", "root=x roothash=ab12", "ab12"}};
  r.ukis = {{1, "/EFI/Linux/debian.efi", {{".osrel", 20}, {".cmdline", 31}, {".linux", 4096}}, "root=x roothash=ab12",
             "ID=debian"}};
  r.sbom_path = "/usr/share/sbom/img-1.0.spdx.json";
  r.sbom = std::string("{\"spdxVersion\": \"SPDX-2.3\"}\0", 29);
  r.files = {{1, "/EFI", "directory", 0, 0, 0, 0, "", ""},
             {2, "/etc/hostname", "regular", 0644, 0, 0, 7,
              "f6e0a1e2ac41945a9aa7ff8a8aaa0cebc12a3bcc981a929ad5cf810a090e11ae", ""},
             {2, "/etc/os-release", "symlink", 0777, 0, 0, 21, "", "../usr/lib/os-release"}};
  return r;
}

TEST(InspectorClient, ReportRoundTrips) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::InspectorResult>();
  client::encode_report(sample(), out);
  EXPECT_EQ(client::decode_report(out.asReader()), sample());
}

TEST(InspectorClient, EncodesTheRequest) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::InspectorRequest>();
  client::encode({ipc::FdReference::of_slot(0), "disk.raw", true, true}, out);
  EXPECT_EQ(std::string(out.getImageName().cStr()), "disk.raw");
  EXPECT_TRUE(out.getExtractSbom());
  EXPECT_TRUE(out.getListFiles());
  EXPECT_EQ(out.getImage().getSlot(), 0);
}

TEST(InspectorClient, RefusesANulInText) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::InspectorResult>();
  client::encode_report(sample(), out);
  out.getPackages()[0].setName(kj::StringPtr("ba\0sh", 5));
  EXPECT_THROW(client::decode_report(out.asReader()), base::Error);
}

TEST(InspectorClient, RefusesAFileHashThatIsNot32Bytes) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::InspectorResult>();
  client::encode_report(sample(), out);
  const capnp::byte short_hash[3] = {1, 2, 3};
  out.getFiles()[1].setSha256(kj::arrayPtr(short_hash, 3));
  EXPECT_THROW(client::decode_report(out.asReader()), base::Error);
}

}  // namespace
}  // namespace stage::inspector
