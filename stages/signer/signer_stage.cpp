#include "stages/signer/signer_stage.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "stages/signer/efi_signing.hpp"
#include "stages/signer/signing.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::signer {
namespace {

namespace proto = ipc::proto;

// A key file is small; anything larger is not one.
constexpr std::size_t kMaxKeyBytes = 1 << 20;

std::string read_ref(ipc::StageContext& context, proto::FdRef::Reader ref, const std::string& what) {
  const base::UniqueFd fd = context.open(ref, O_RDONLY | O_NOCTTY, what);
  return verifier::read_fd_bytes(fd.get(), what);
}

// The key's bytes, wiped from this process's memory when it ends.
struct KeyBytes {
  KeyFile key;
  ~KeyBytes() { explicit_bzero(key.bytes.data(), key.bytes.size()); }
};

// `kind`: "key file" or "certificate file", for messages.
void read_key(ipc::StageContext& context, proto::FdRef::Reader ref, const std::string& name, KeyBytes& out,
              const std::string& kind = "key file") {
  out.key.name = name.empty() ? "(unnamed " + kind + ")" : name;
  out.key.bytes = read_ref(context, ref, "the " + kind + " '" + out.key.name + "'");
  if (out.key.bytes.size() > kMaxKeyBytes) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read the " + kind + " '" + out.key.name + "': it holds " +
                                                   std::to_string(out.key.bytes.size()) + " bytes, more than a " +
                                                   kind + " (1 MiB)");
  }
}

void sign(proto::SignerRequest::SignDetached::Reader in, ipc::StageContext& context,
          proto::SignerResult::Signed::Builder out) {
  KeyBytes key;
  read_key(context, in.getKey(), in.getKeyName(), key);
  const std::string name = in.getFileName();
  const std::string data = read_ref(context, in.getFile(), "the file to sign '" + name + "'");
  context.progress({.phase = "signing", .item = name});
  const DetachedSignature signature = sign_detached(key.key, data, name);
  out.setSignature(signature.armored);
  out.setFingerprint(signature.fingerprint);
  context.log(ipc::LogLevel::kInfo, "signed " + name + " with key " + signature.fingerprint);
}

void verify(proto::SignerRequest::VerifyDetached::Reader in, ipc::StageContext& context,
            proto::SignerResult::Verified::Builder out) {
  KeyBytes keys;
  read_key(context, in.getKey(), in.getKeyName(), keys);
  const std::string name = in.getFileName();
  const std::string data = read_ref(context, in.getFile(), "the signed file '" + name + "'");
  const std::string signature = read_ref(context, in.getSignature(), "the signature of '" + name + "'");
  context.progress({.phase = "verifying", .item = name});
  const VerifyOutcome outcome = verify_detached(keys.key, data, signature, name);
  out.setGood(outcome.good);
  out.setFingerprint(outcome.fingerprint);
  out.setProblem(outcome.problem);
}

// The signed binary's bytes into `output`: a regular file, from its start.
void write_output(ipc::StageContext& context, proto::FdRef::Reader ref, const std::string& name,
                  const std::string& bytes) {
  const std::string what = "the output for the signed '" + name + "'";
  const base::UniqueFd fd = context.open(ref, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY, what);
  struct stat st{};
  base::check_syscall(::fstat(fd.get(), &st), "stat " + what);
  base::require(S_ISREG(st.st_mode), "Failed to write " + what + ": it is not a regular file");
  base::check_syscall(::ftruncate(fd.get(), 0), "truncate " + what);
  base::check_syscall(::lseek(fd.get(), 0, SEEK_SET), "seek in " + what);
  base::write_all(fd.get(), bytes, what);
}

void sign_efi_binary(proto::SignerRequest::SignEfi::Reader in, ipc::StageContext& context,
                     proto::SignerResult::SignedEfi::Builder out) {
  KeyBytes key;
  read_key(context, in.getKey(), in.getKeyName(), key);
  KeyBytes certificate;
  read_key(context, in.getCertificate(), in.getCertName(), certificate, "certificate file");
  const std::string name = in.getFileName();
  const std::string binary = read_ref(context, in.getFile(), "the EFI binary to sign '" + name + "'");
  context.progress({.phase = "signing", .item = name});
  const SignedEfi signed_efi = sign_efi(key.key, certificate.key, binary, name);
  write_output(context, in.getOutput(), name, signed_efi.bytes);
  out.setSha256(signed_efi.sha256);
  out.setSize(signed_efi.bytes.size());
  context.log(ipc::LogLevel::kInfo, "signed the EFI binary " + name + " for Secure Boot with the certificate " +
                                        certificate.key.name);
}

void verify_efi_binary(proto::SignerRequest::VerifyEfi::Reader in, ipc::StageContext& context,
                       proto::SignerResult::VerifiedEfi::Builder out) {
  KeyBytes certificate;
  read_key(context, in.getCertificate(), in.getCertName(), certificate, "certificate file");
  const std::string name = in.getFileName();
  const std::string binary = read_ref(context, in.getFile(), "the EFI binary '" + name + "'");
  context.progress({.phase = "verifying", .item = name});
  const EfiVerifyOutcome outcome = verify_efi(certificate.key, binary, name);
  out.setGood(outcome.good);
  out.setProblem(outcome.problem);
}

}  // namespace

void run_request(proto::StageRequest::Reader request, ipc::StageContext& context, proto::StageResult::Builder result) {
  base::require(request.isSigner(), "Failed to run stage-signer: the request is for another stage");
  const auto in = request.getSigner();
  switch (in.which()) {
    case proto::SignerRequest::SIGN_DETACHED:
      sign(in.getSignDetached(), context, result.initSigner().initSignDetached());
      return;
    case proto::SignerRequest::VERIFY_DETACHED:
      verify(in.getVerifyDetached(), context, result.initSigner().initVerifyDetached());
      return;
    case proto::SignerRequest::SIGN_EFI:
      sign_efi_binary(in.getSignEfi(), context, result.initSigner().initSignEfi());
      return;
    case proto::SignerRequest::VERIFY_EFI:
      verify_efi_binary(in.getVerifyEfi(), context, result.initSigner().initVerifyEfi());
      return;
  }
  base::fail(base::ErrorKind::kUnimplemented, "Failed to run stage-signer: an operation this build does not know");
}

}  // namespace stage::signer
