#include "stages/signer/client.hpp"

#include "base/error.hpp"

namespace stage::signer::client {
namespace {

void encode_op(const SignDetached& in, ipc::proto::SignerRequest::Builder out) {
  auto op = out.initSignDetached();
  in.key.encode(op.initKey());
  op.setKeyName(in.key_name);
  in.file.encode(op.initFile());
  op.setFileName(in.file_name);
}

void encode_op(const VerifyDetached& in, ipc::proto::SignerRequest::Builder out) {
  auto op = out.initVerifyDetached();
  in.key.encode(op.initKey());
  op.setKeyName(in.key_name);
  in.file.encode(op.initFile());
  op.setFileName(in.file_name);
  in.signature.encode(op.initSignature());
}

void encode_op(const SignEfi& in, ipc::proto::SignerRequest::Builder out) {
  auto op = out.initSignEfi();
  in.key.encode(op.initKey());
  op.setKeyName(in.key_name);
  in.certificate.encode(op.initCertificate());
  op.setCertName(in.cert_name);
  in.file.encode(op.initFile());
  op.setFileName(in.file_name);
  in.output.encode(op.initOutput());
}

void encode_op(const VerifyEfi& in, ipc::proto::SignerRequest::Builder out) {
  auto op = out.initVerifyEfi();
  in.certificate.encode(op.initCertificate());
  op.setCertName(in.cert_name);
  in.file.encode(op.initFile());
  op.setFileName(in.file_name);
}

[[noreturn]] void wrong_operation(const char* expected) {
  base::fail(base::ErrorKind::kSandboxViolation,
             std::string("Refused the signer's result: it is not the result of ") + expected);
}

}  // namespace

void encode(const Request& request, ipc::proto::SignerRequest::Builder out) {
  std::visit([&](const auto& op) { encode_op(op, out); }, request);
}

Signed decode_signed(ipc::proto::SignerResult::Reader result) {
  if (!result.isSignDetached()) wrong_operation("signDetached");
  const auto in = result.getSignDetached();
  return {in.getSignature(), in.getFingerprint()};
}

Verified decode_verified(ipc::proto::SignerResult::Reader result) {
  if (!result.isVerifyDetached()) wrong_operation("verifyDetached");
  const auto in = result.getVerifyDetached();
  return {in.getGood(), in.getFingerprint(), in.getProblem()};
}

SignedEfi decode_signed_efi(ipc::proto::SignerResult::Reader result) {
  if (!result.isSignEfi()) wrong_operation("signEfi");
  const auto in = result.getSignEfi();
  return {in.getSha256(), in.getSize()};
}

VerifiedEfi decode_verified_efi(ipc::proto::SignerResult::Reader result) {
  if (!result.isVerifyEfi()) wrong_operation("verifyEfi");
  const auto in = result.getVerifyEfi();
  return {in.getGood(), in.getProblem()};
}

}  // namespace stage::signer::client
