// Throw-away Secure Boot material for tests, made by openssl in DIR:
// db.key/db.crt (an RSA-2048 DB key without a passphrase and its
// self-signed certificate), other.key/other.crt (another pair), p.key (a
// key protected by the passphrase "secret"), and app.efi: an unsigned EFI
// binary, the host's systemd-boot when installed (systemd-boot-efi), else
// /usr/bin/true converted to an EFI application (PE32+) by objcopy
// (binutils). Throws std::runtime_error when a tool fails.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/support/run_program.hpp"

namespace tests::support {

inline constexpr const char* kMakeSecureBootFiles = R"SH(
set -euo pipefail
out=$1
pair() { openssl req -new -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$2/" \
           -keyout "$out/$1.key" -out "$out/$1.crt" 2>/dev/null; }
pair db test-db
pair other test-other
openssl pkey -in "$out/db.key" -aes256 -passout pass:secret -out "$out/p.key"
boot=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
if [ -f "$boot" ]; then cp "$boot" "$out/app.efi"; else objcopy -O efi-app-x86_64 /usr/bin/true "$out/app.efi"; fi
)SH";

inline void make_secure_boot_files(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const RunResult run = run_program({"/bin/bash", "-c", kMakeSecureBootFiles, "make-secure-boot-files", dir.string()},
                                    {{"PATH", "/usr/bin:/bin"}}, dir / ".run");
  if (run.exit_code != 0) throw std::runtime_error("making throw-away Secure Boot files failed: " + run.err);
  std::filesystem::remove_all(dir / ".run");
}

}  // namespace tests::support
