// The signer client: each operation reaches the wire as the stage reads it,
// each result comes back, and a result of the other operation is refused.
#include "stages/signer/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::signer {
namespace {

TEST(SignerClient, SignDetachedReachesTheWire) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::SignerRequest>();
  client::encode(client::SignDetached{ipc::FdReference::of_slot(0), "/home/u/key.asc",
                                      ipc::FdReference::of_slot(1), "SHA256SUMS"},
                 out);
  const auto in = out.asReader();
  ASSERT_TRUE(in.isSignDetached());
  EXPECT_EQ(in.getSignDetached().getKey().getSlot(), 0);
  EXPECT_EQ(std::string(in.getSignDetached().getKeyName().cStr()), "/home/u/key.asc");
  EXPECT_EQ(in.getSignDetached().getFile().getSlot(), 1);
  EXPECT_EQ(std::string(in.getSignDetached().getFileName().cStr()), "SHA256SUMS");
}

TEST(SignerClient, VerifyDetachedReachesTheWire) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::SignerRequest>();
  client::encode(client::VerifyDetached{ipc::FdReference::of_slot(2), "pub.asc", ipc::FdReference::of_slot(0),
                                        "SHA256SUMS", ipc::FdReference::of_path("/d/SHA256SUMS.asc")},
                 out);
  const auto in = out.asReader();
  ASSERT_TRUE(in.isVerifyDetached());
  EXPECT_EQ(in.getVerifyDetached().getKey().getSlot(), 2);
  EXPECT_EQ(std::string(in.getVerifyDetached().getSignature().getPath().cStr()), "/d/SHA256SUMS.asc");
}

TEST(SignerClient, SignEfiReachesTheWire) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::SignerRequest>();
  client::encode(client::SignEfi{ipc::FdReference::of_slot(0), "/keys/db.key", ipc::FdReference::of_slot(1),
                                 "/keys/db.crt", ipc::FdReference::of_slot(2), "EFI/BOOT/BOOTX64.EFI",
                                 ipc::FdReference::of_slot(3)},
                 out);
  const auto in = out.asReader();
  ASSERT_TRUE(in.isSignEfi());
  const auto op = in.getSignEfi();
  EXPECT_EQ(op.getKey().getSlot(), 0);
  EXPECT_EQ(std::string(op.getKeyName().cStr()), "/keys/db.key");
  EXPECT_EQ(op.getCertificate().getSlot(), 1);
  EXPECT_EQ(std::string(op.getCertName().cStr()), "/keys/db.crt");
  EXPECT_EQ(op.getFile().getSlot(), 2);
  EXPECT_EQ(std::string(op.getFileName().cStr()), "EFI/BOOT/BOOTX64.EFI");
  EXPECT_EQ(op.getOutput().getSlot(), 3);
}

TEST(SignerClient, VerifyEfiReachesTheWire) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<ipc::proto::SignerRequest>();
  client::encode(client::VerifyEfi{ipc::FdReference::of_slot(1), "db.crt", ipc::FdReference::of_path("/esp/a.efi"),
                                   "EFI/Linux/a.efi"},
                 out);
  const auto in = out.asReader();
  ASSERT_TRUE(in.isVerifyEfi());
  EXPECT_EQ(in.getVerifyEfi().getCertificate().getSlot(), 1);
  EXPECT_EQ(std::string(in.getVerifyEfi().getCertName().cStr()), "db.crt");
  EXPECT_EQ(std::string(in.getVerifyEfi().getFile().getPath().cStr()), "/esp/a.efi");
  EXPECT_EQ(std::string(in.getVerifyEfi().getFileName().cStr()), "EFI/Linux/a.efi");
}

TEST(SignerClient, DecodesTheEfiResultsAndRefusesTheOtherOperations) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::SignerResult>();
  auto made = result.initSignEfi();
  made.setSha256(std::string(64, 'a'));
  made.setSize(5ULL << 30);  // more than 32 bits survive
  const client::SignedEfi s = client::decode_signed_efi(result.asReader());
  EXPECT_EQ(s.sha256, std::string(64, 'a'));
  EXPECT_EQ(s.size, 5ULL << 30);
  EXPECT_THROW(client::decode_verified_efi(result.asReader()), base::Error);
  EXPECT_THROW(client::decode_signed(result.asReader()), base::Error);

  auto checked = result.initVerifyEfi();
  checked.setGood(false);
  checked.setProblem("Image fails hash check");
  const client::VerifiedEfi v = client::decode_verified_efi(result.asReader());
  EXPECT_FALSE(v.good);
  EXPECT_EQ(v.problem, "Image fails hash check");
  EXPECT_THROW(client::decode_signed_efi(result.asReader()), base::Error);
  EXPECT_THROW(client::decode_verified(result.asReader()), base::Error);
}

TEST(SignerClient, DecodesEachResultAndRefusesTheOtherOperations) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::SignerResult>();
  auto made = result.initSignDetached();
  made.setSignature("-----BEGIN PGP SIGNATURE-----");
  made.setFingerprint("AB12");
  const client::Signed s = client::decode_signed(result.asReader());
  EXPECT_EQ(s.signature, "-----BEGIN PGP SIGNATURE-----");
  EXPECT_EQ(s.fingerprint, "AB12");
  EXPECT_THROW(client::decode_verified(result.asReader()), base::Error);

  auto checked = result.initVerifyDetached();
  checked.setGood(false);
  checked.setProblem("BAD signature");
  const client::Verified v = client::decode_verified(result.asReader());
  EXPECT_FALSE(v.good);
  EXPECT_EQ(v.problem, "BAD signature");
  EXPECT_THROW(client::decode_signed(result.asReader()), base::Error);
}

}  // namespace
}  // namespace stage::signer
