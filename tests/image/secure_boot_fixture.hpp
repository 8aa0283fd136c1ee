// Secure Boot in the image tests: Debian's OVMF test key (PkKek-1-snakeoil,
// whose certificate OVMF_VARS_4M.snakeoil.fd enrols) as a template's DB
// keys, and QEMU boots under OVMF with Secure Boot enforcing, stopped as
// soon as the serial console shows what the test waits for.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tests/image/image_workspace.hpp"

namespace tests::image {

inline constexpr const char* kSecureBootCode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
inline constexpr const char* kSnakeoilVars = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd";
inline constexpr const char* kSnakeoilKey = "/usr/share/ovmf/PkKek-1-snakeoil.key";  // passphrase "snakeoil"
inline constexpr const char* kSnakeoilCert = "/usr/share/ovmf/PkKek-1-snakeoil.pem";

// What the Secure Boot cases need and this machine lacks, one line each.
std::string missing_secure_boot_tools();

// `source` (a template of tests/image/templates) with its additional files
// and the keys beside it in `dir`, written as `dir`/`name`: the DB key
// without its passphrase (the signer refuses one), the certificate as PEM
// and as DER; `immutability.enabled` true with the three keys (without a
// hash partition the merge turns the dm-verity root off again, and the keys
// alone ask for Secure Boot). A template without an immutability section
// gets one at the end of systemConfig, which must be its last section.
std::filesystem::path write_signed_template(const std::filesystem::path& dir, const std::string& source,
                                            const std::string& name);

// Boots `image` under Secure Boot until its serial console satisfies
// `stop` (or `seconds` pass) and stops the VM then: a refusal is matched on
// the console, as firmware and shim wait for a key or a timeout after one.
// Returns the console.
std::string secure_boot_until(const ImageWorkspace& workspace, const std::filesystem::path& image,
                              const std::string& what, const std::function<bool(const std::string&)>& stop,
                              int seconds);

// A stop condition: one of `texts` is on the console.
std::function<bool(const std::string&)> shows_any_of(std::vector<std::string> texts);

}  // namespace tests::image
