// Throw-away OpenPGP keys for tests, made by gpg --quick-gen-key in a home of
// the test's own (never the user's ~/.gnupg): in DIR, a.sec (armored secret
// key, no passphrase), a.bin (the same, binary), a.pub, a.fpr (its primary
// fingerprint), b.sec and b.pub (another key), p.sec (protected by the
// passphrase "secret"). Throws std::runtime_error when gpg fails.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/support/run_program.hpp"

namespace tests::support {

inline constexpr const char* kMakeOpenPgpKeys = R"SH(
set -euo pipefail
out=$1
export GNUPGHOME=$out/gnupg
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
g() { gpg --batch --quiet --yes --no-tty --pinentry-mode loopback "$@" 2>/dev/null; }
g --passphrase '' --quick-gen-key 'OIC Signer A <a@example.invalid>' ed25519 sign never
g --passphrase '' --quick-gen-key 'OIC Signer B <b@example.invalid>' ed25519 sign never
g --passphrase secret --quick-gen-key 'OIC Signer P <p@example.invalid>' ed25519 sign never
g --armor --export-secret-keys a@example.invalid >"$out/a.sec"
g --export-secret-keys a@example.invalid >"$out/a.bin"
g --armor --export-secret-keys b@example.invalid >"$out/b.sec"
g --passphrase secret --armor --export-secret-keys p@example.invalid >"$out/p.sec"
g --armor --export a@example.invalid >"$out/a.pub"
g --armor --export b@example.invalid >"$out/b.pub"
gpg --batch --with-colons --list-keys a@example.invalid 2>/dev/null | awk -F: '$1=="fpr"{print $10; exit}' >"$out/a.fpr"
gpgconf --kill all
rm -rf "$GNUPGHOME"
)SH";

inline void make_openpgp_keys(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const RunResult run =
      run_program({"/bin/bash", "-c", kMakeOpenPgpKeys, "make-keys", dir.string()}, {{"PATH", "/usr/bin:/bin"}},
                  dir / ".run");
  if (run.exit_code != 0) throw std::runtime_error("making throw-away OpenPGP keys failed: " + run.err);
  std::filesystem::remove_all(dir / ".run");
}

}  // namespace tests::support
