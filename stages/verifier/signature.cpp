#include "stages/verifier/signature.hpp"

#include <algorithm>
#include <optional>

#include "base/error.hpp"

namespace stage::verifier {
namespace {

constexpr std::string_view kBeginSigned = "-----BEGIN PGP SIGNED MESSAGE-----";
constexpr std::string_view kBeginSignature = "-----BEGIN PGP SIGNATURE-----";
constexpr std::string_view kEndSignature = "-----END PGP SIGNATURE-----";

[[noreturn]] void reject(const SignatureCheck& check, std::string_view reason) {
  // No repository: a signature over a file of its own (stage-signer's verify).
  const std::string of = check.repository.empty() ? "" : " of repository '" + check.repository + "'";
  base::fail(base::ErrorKind::kInvalidInput,
            "Failed to verify '" + check.file + "'" + of + ": " + std::string(reason));
}

std::size_t count(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// gpg ignores text around a clearsigned block and verifies every block it
// finds; either would let unsigned lines reach the parser, so the document
// must be exactly one block (as apt requires since CVE-2013-1051).
void require_single_clearsigned_block(std::string_view doc, const SignatureCheck& check) {
  if (doc.substr(0, kBeginSigned.size()) != kBeginSigned) {
    reject(check, "no signature (the file does not start with '" +
                      std::string(kBeginSigned) + "')");
  }
  if (count(doc, kBeginSigned) != 1 || count(doc, kBeginSignature) != 1 ||
      count(doc, kEndSignature) != 1) {
    reject(check, "the file must hold exactly one clearsigned block");
  }
  const auto end = doc.find(kEndSignature) + kEndSignature.size();
  if (doc.substr(end).find_first_not_of(" \t\r\n") != std::string_view::npos) {
    reject(check, "unsigned text after the signature");
  }
}

std::string describe_key(const char* fpr) {
  return fpr != nullptr && *fpr != '\0' ? std::string(fpr) : std::string("(unknown)");
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out.append(out.empty() ? "" : ", ").append(p);
  return out;
}

struct KeyIdentity {
  std::string primary;
  std::string signing;
};

KeyIdentity identify_key(gpgme_ctx_t ctx, const char* sig_fpr) {
  KeyIdentity id{describe_key(sig_fpr), describe_key(sig_fpr)};
  gpgme_key_t key = nullptr;
  if (sig_fpr != nullptr && gpgme_get_key(ctx, sig_fpr, &key, 0) == GPG_ERR_NO_ERROR &&
      key != nullptr) {
    if (key->subkeys != nullptr && key->subkeys->fpr != nullptr) id.primary = key->subkeys->fpr;
    gpgme_key_unref(key);
  }
  return id;
}

bool is_pinned(const KeyIdentity& id, const std::vector<std::string>& pins) {
  if (pins.empty()) return true;
  return std::any_of(pins.begin(), pins.end(), [&](const std::string& pin) {
    const std::string p = normalize_fingerprint(pin);
    return p == id.primary || p == id.signing;
  });
}

// Why one signature is not acceptable, or nullopt when it is.
std::optional<std::string> signature_problem(gpgme_ctx_t ctx, gpgme_signature_t sig,
                                             const SignatureCheck& check) {
  const std::string key = describe_key(sig->fpr);
  switch (gpgme_err_code(sig->status)) {
    case GPG_ERR_NO_ERROR:
      break;
    case GPG_ERR_NO_PUBKEY:
      return "signed by key " + key + ", which is not a configured key (NO_PUBKEY)";
    case GPG_ERR_KEY_EXPIRED:
      return "signing key " + key + " has expired";
    case GPG_ERR_SIG_EXPIRED:
      return "the signature by key " + key + " has expired";
    case GPG_ERR_CERT_REVOKED:
      return "signing key " + key + " is revoked";
    default:
      return "cannot check the signature by key " + key + ": " + gpgme_strerror(sig->status);
  }
  if ((sig->summary & GPGME_SIGSUM_KEY_REVOKED) != 0) return "signing key " + key + " is revoked";
  if ((sig->summary & GPGME_SIGSUM_KEY_EXPIRED) != 0) return "signing key " + key + " has expired";
  if ((sig->summary & GPGME_SIGSUM_SIG_EXPIRED) != 0) {
    return "the signature by key " + key + " has expired";
  }
  if (sig->hash_algo == GPGME_MD_MD5 || sig->hash_algo == GPGME_MD_SHA1 ||
      sig->hash_algo == GPGME_MD_RMD160) {
    return std::string("the signature by key ") + key + " uses the weak digest " +
           (gpgme_hash_algo_name(sig->hash_algo) ? gpgme_hash_algo_name(sig->hash_algo) : "?");
  }
  const KeyIdentity id = identify_key(ctx, sig->fpr);
  if (!is_pinned(id, check.fingerprint_pins)) {
    return "signed by key " + id.primary + ", which does not match the pinned fingerprint(s) " +
           join(check.fingerprint_pins);
  }
  return std::nullopt;
}

// Like apt: any bad signature rejects; otherwise one acceptable signature
// is enough (Debian signs with several keys, users may configure one).
std::string accept_signatures(gpgme_ctx_t ctx, const SignatureCheck& check) {
  gpgme_verify_result_t result = gpgme_op_verify_result(ctx);
  if (result == nullptr || result->signatures == nullptr) reject(check, "no signature");
  std::optional<std::string> first_problem;
  std::optional<std::string> accepted;
  for (gpgme_signature_t sig = result->signatures; sig != nullptr; sig = sig->next) {
    if (gpgme_err_code(sig->status) == GPG_ERR_BAD_SIGNATURE) {
      reject(check, "BAD signature by key " + describe_key(sig->fpr) +
                        " (the signed content was modified)");
    }
    auto problem = signature_problem(ctx, sig, check);
    if (problem) {
      if (!first_problem) first_problem = std::move(problem);
    } else if (!accepted) {
      accepted = identify_key(ctx, sig->fpr).primary;
    }
  }
  if (!accepted) reject(check, *first_problem);
  return *accepted;
}

void run_verify(gpgme_ctx_t ctx, gpgme_data_t sig, gpgme_data_t signed_text,
                gpgme_data_t plain, const SignatureCheck& check) {
  const gpgme_error_t err = gpgme_op_verify(ctx, sig, signed_text, plain);
  if (gpgme_err_code(err) == GPG_ERR_NO_DATA) reject(check, "no signature");
  if (gpgme_err_code(err) != GPG_ERR_NO_ERROR) {
    reject(check, std::string("gpg failed: ") + gpgme_strerror(err));
  }
}

}  // namespace

VerifiedText verify_clearsigned(GpgHome& home, std::string_view document,
                                const SignatureCheck& check) {
  require_single_clearsigned_block(document, check);
  GpgmeData sig = make_gpgme_data(document);
  GpgmeData plain = make_empty_gpgme_data();
  run_verify(home.context(), sig.get(), nullptr, plain.get(), check);
  std::string signer = accept_signatures(home.context(), check);
  return {read_gpgme_data(plain.get()), std::move(signer)};
}

VerifiedText verify_detached(GpgHome& home, std::string_view data,
                             std::string_view signature, const SignatureCheck& check) {
  if (signature.empty()) reject(check, "no signature (the signature file is empty)");
  GpgmeData sig = make_gpgme_data(signature);
  GpgmeData text = make_gpgme_data(data);
  run_verify(home.context(), sig.get(), text.get(), nullptr, check);
  std::string signer = accept_signatures(home.context(), check);
  return {std::string(data), std::move(signer)};
}

}  // namespace stage::verifier
