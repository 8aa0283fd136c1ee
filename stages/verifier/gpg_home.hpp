// A private, temporary GnuPG home for one verification run. It holds only the
// keys imported into it, so "verified" means "signed by one of these keys"
// and nothing from the user's ~/.gnupg or a keyserver can take part.
#pragma once

#include <gpgme.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stage::verifier {

struct GpgmeCtxDeleter {
  void operator()(gpgme_ctx_t ctx) const noexcept { gpgme_release(ctx); }
};
struct GpgmeDataDeleter {
  void operator()(gpgme_data_t data) const noexcept { gpgme_data_release(data); }
};
using GpgmeCtx = std::unique_ptr<gpgme_context, GpgmeCtxDeleter>;
using GpgmeData = std::unique_ptr<gpgme_data, GpgmeDataDeleter>;

// Wraps bytes the caller keeps alive (no copy).
GpgmeData make_gpgme_data(std::string_view bytes);
GpgmeData make_empty_gpgme_data();
// Copies the whole content of `data` out.
std::string read_gpgme_data(gpgme_data_t data);

// What a home is for: checking signatures (public keys only; gpg may start
// no agent) or making them (stage-signer: gpg needs gpg-agent for a secret
// key, which it starts in the home itself, with loopback pinentry only).
enum class GpgHomeUse { kPublicKeys, kSecretKeys };

class GpgHome {
 public:
  // Creates a 0700 directory "oic-gpg-XXXXXX" under `parent` (the system temp
  // directory when empty) and an OpenPGP context bound to it.
  explicit GpgHome(const std::filesystem::path& parent = {}, GpgHomeUse use = GpgHomeUse::kPublicKeys);
  // Stops any gpg-agent/dirmngr of this home and removes the directory.
  ~GpgHome();
  GpgHome(const GpgHome&) = delete;
  GpgHome& operator=(const GpgHome&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  gpgme_ctx_t context() const noexcept { return ctx_.get(); }

  // Imports every public key in an armored or binary keyring file and
  // returns the primary fingerprints it holds.
  std::vector<std::string> import_keys(const std::filesystem::path& keyring);
  std::vector<std::string> import_keys_from_memory(std::string_view bytes,
                                                   std::string_view origin);

 private:
  void stop_daemons() noexcept;

  std::filesystem::path path_;
  GpgmeCtx ctx_;
};

// Upper-case hex without spaces, so pins can be written as gpg prints them.
std::string normalize_fingerprint(std::string_view fingerprint);

}  // namespace stage::verifier
