#include "stages/signer/signing.hpp"

#include <gpgme.h>

#include <vector>

#include "base/error.hpp"
#include "stages/verifier/gpg_home.hpp"
#include "stages/verifier/signature.hpp"

namespace stage::signer {
namespace {

using verifier::GpgHome;
using verifier::GpgHomeUse;

struct KeyDeleter {
  void operator()(gpgme_key_t key) const noexcept { gpgme_key_unref(key); }
};
using Key = std::unique_ptr<_gpgme_key, KeyDeleter>;

std::string key_error(const KeyFile& key, std::string_view reason) {
  return "Failed to sign with the key file '" + key.name + "': " + std::string(reason);
}

// gpg asks through the agent for the passphrase of a protected key; loopback
// brings the question here, and the signer answers none.
gpgme_error_t refuse_passphrase(void* asked, const char*, const char*, int, int) {
  *static_cast<bool*>(asked) = true;
  return gpgme_error(GPG_ERR_CANCELED);
}

void import_secret_key(gpgme_ctx_t ctx, const KeyFile& key) {
  verifier::GpgmeData data = verifier::make_gpgme_data(key.bytes);
  const gpgme_error_t err = gpgme_op_import(ctx, data.get());
  gpgme_import_result_t result = gpgme_op_import_result(ctx);
  if (gpgme_err_code(err) != GPG_ERR_NO_ERROR || result == nullptr || result->secret_read == 0) {
    base::fail(base::ErrorKind::kInvalidInput,
               key_error(key, "it holds no OpenPGP secret key (a public key, or not OpenPGP data)"));
  }
  // gpg reads the key but hands it to gpg-agent: nothing imported means the
  // agent did not take it (it could not start), not a bad key file.
  if (result->secret_imported + result->secret_unchanged == 0) {
    base::fail(base::ErrorKind::kFailed, key_error(key, "gpg-agent did not take the secret key (" +
                                                            std::to_string(result->secret_read) + " read, none imported)"));
  }
}

// The secret keys now in the home that can sign.
std::vector<Key> signing_keys(gpgme_ctx_t ctx, const KeyFile& key) {
  std::vector<Key> keys;
  base::require(gpgme_op_keylist_start(ctx, nullptr, 1) == 0, key_error(key, "gpg cannot list the imported key"));
  gpgme_key_t next = nullptr;
  while (gpgme_op_keylist_next(ctx, &next) == 0) {
    Key owned(next);
    if (owned->can_sign && !owned->revoked && !owned->expired && !owned->disabled) keys.push_back(std::move(owned));
  }
  gpgme_op_keylist_end(ctx);
  if (keys.empty()) {
    base::fail(base::ErrorKind::kInvalidInput, key_error(key, "its secret key cannot sign (revoked, expired or an encryption-only key)"));
  }
  if (keys.size() > 1) {
    base::fail(base::ErrorKind::kInvalidInput,
               key_error(key, "it holds " + std::to_string(keys.size()) + " signing keys; give a file with one"));
  }
  return keys;
}

std::string sign_with(gpgme_ctx_t ctx, gpgme_key_t signer, std::string_view data, const KeyFile& key) {
  bool asked = false;
  gpgme_set_passphrase_cb(ctx, refuse_passphrase, &asked);
  gpgme_signers_clear(ctx);
  base::require(gpgme_signers_add(ctx, signer) == 0, key_error(key, "gpgme refused the key as a signer"));
  gpgme_set_armor(ctx, 1);
  verifier::GpgmeData in = verifier::make_gpgme_data(data);
  verifier::GpgmeData out = verifier::make_empty_gpgme_data();
  const gpgme_error_t err = gpgme_op_sign(ctx, in.get(), out.get(), GPGME_SIG_MODE_DETACH);
  if (asked) {
    throw base::Error(base::ErrorKind::kInvalidInput, key_error(key, "the key is protected by a passphrase"))
        .with_hint("the signer takes only keys without one: export a copy without a passphrase "
                   "(gpg --passwd, then gpg --export-secret-keys) and keep it where only you can read it");
  }
  if (gpgme_err_code(err) != GPG_ERR_NO_ERROR) base::fail(base::ErrorKind::kFailed, key_error(key, gpgme_strerror(err)));
  gpgme_sign_result_t result = gpgme_op_sign_result(ctx);
  base::require(result != nullptr && result->invalid_signers == nullptr && result->signatures != nullptr,
                key_error(key, "gpg made no signature"));
  return verifier::read_gpgme_data(out.get());
}

}  // namespace

DetachedSignature sign_detached(const KeyFile& key, std::string_view data, std::string_view data_name,
                                const std::filesystem::path& home_parent) {
  base::ErrorContext context{"signing", data_name};
  GpgHome home(home_parent, GpgHomeUse::kSecretKeys);
  gpgme_ctx_t ctx = home.context();
  base::require(gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK) == 0,
                "Failed to set gpg's pinentry mode to loopback");
  import_secret_key(ctx, key);
  const std::vector<Key> keys = signing_keys(ctx, key);
  DetachedSignature out;
  out.armored = sign_with(ctx, keys.front().get(), data, key);
  out.fingerprint = verifier::normalize_fingerprint(keys.front()->fpr);
  return out;
}

VerifyOutcome verify_detached(const KeyFile& keys, std::string_view data, std::string_view signature,
                              std::string_view data_name, const std::filesystem::path& home_parent) {
  GpgHome home(home_parent);
  try {
    home.import_keys_from_memory(keys.bytes, keys.name);
  } catch (const base::Error& e) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                      "Failed to read the public key file '" + keys.name + "': " + e.message());
  }
  try {
    const verifier::VerifiedText checked =
        verifier::verify_detached(home, data, signature, {.repository = {}, .file = std::string(data_name)});
    return {true, checked.signer_fingerprint, {}};
  } catch (const base::Error& e) {
    return {false, {}, e.message()};
  }
}

}  // namespace stage::signer
