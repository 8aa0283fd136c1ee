#include "stages/signer/signer_stage.hpp"

#include <fcntl.h>
#include <string.h>

#include "base/error.hpp"
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

void read_key(ipc::StageContext& context, proto::FdRef::Reader ref, const std::string& name, KeyBytes& out) {
  out.key.name = name.empty() ? "(unnamed key file)" : name;
  out.key.bytes = read_ref(context, ref, "the key file '" + out.key.name + "'");
  if (out.key.bytes.size() > kMaxKeyBytes) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read the key file '" + out.key.name + "': it holds " +
                                                   std::to_string(out.key.bytes.size()) +
                                                   " bytes, more than a key file (1 MiB)");
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
  }
  base::fail(base::ErrorKind::kUnimplemented, "Failed to run stage-signer: an operation this build does not know");
}

}  // namespace stage::signer
