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
