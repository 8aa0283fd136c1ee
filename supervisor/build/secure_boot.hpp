// Secure Boot (systemConfig.immutability with secureBootDBKey/Crt/Cer): every
// EFI binary on the ESP is signed with the template's DB key before the ESP
// is made. The disk maker runs twice (diskmaker.capnp's Phase): "make-disk"
// (phase partitions) leaves the ESP's files, the dm-verity root hash already
// in the UKI, in <out>/.<name>.esp/<partition id>/; the supervisor lists the
// EFI binaries there (regular files starting with "MZ", found without
// following any link: the directory is a stage's) and adds, for each,
// "sign-esp-N" (the signer's signEfi, the key and certificate passed as fds
// of the template's files, the signed copy written to a file of the
// supervisor's own) and "verify-esp-N" (verifyEfi with the certificate on that
// copy, which then replaces the original); "finish-disk" (phase finish) comes
// after every one. Only the signer's requests ever carry the key.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {

// The template's key files as host paths: absolute as given, relative ones
// beside the template file (`image.source`), as additionalFiles' own
// template's files are found.
struct SecureBootKeys {
  std::filesystem::path key;          // secureBootDBKey, PEM private key
  std::filesystem::path certificate;  // secureBootDBCrt, PEM certificate
  std::filesystem::path der;          // secureBootDBCer, DER certificate (published as DB.cer)
};

// nullopt unless the three keys are given (with `enabled`, which the merge
// may have turned off again for want of a hash partition: the keys apply).
std::optional<SecureBootKeys> secure_boot_keys(const config::ImageTemplate& image);

// A raw disk (or an ISO's target disk) booted by GRUB with Secure Boot
// keys: the installer puts the image's shim in front of GRUB
// (docs/os-configuration.md).
bool boots_grub_through_shim(const config::ImageTemplate& image);

// Refuses (kInvalidInput) boots_grub_through_shim when the OS data has no
// grub.secureBoot (shim, SBAT) for it, before anything is fetched.
void require_shim_data(const config::ImageTemplate& image, const config::ProviderData& provider);

// The published name of the DER certificate, as the reference names it.
inline constexpr const char* kDbCertificateFile = "DB.cer";

// DB.cer's bytes (at most 64 KiB), read without following a link.
std::string read_db_certificate(const std::filesystem::path& der);

// An EFI binary in an ESP copy: <esp dir>/<partition>/<path>.
struct EfiBinary {
  std::string partition;
  std::string path;  // relative, '/'-separated
};

// Every regular file below `dir_fd` whose first two bytes are "MZ", sorted.
// A symbolic link or anything but a regular file or directory is refused
// (kSandboxViolation, naming it below `shown`); nothing is followed.
std::vector<std::string> find_efi_binaries(int dir_fd, const std::string& shown);

// Replaces `relative` below `dir_fd` by the bytes of `signed_fd`: a new file
// beside it, then rename; every directory on the way is opened beneath
// `dir_fd` without following a link.
void put_signed_in_place(int dir_fd, const std::string& relative, int signed_fd, const std::string& shown);

// What the signing jobs did, for the build's log.
struct EspSigningReport {
  std::size_t signed_count = 0;
  std::string certificate;  // the certificate file's name
};

struct EspSigning {
  SecureBootKeys keys;
  std::filesystem::path esp_dir;  // <out>/.<name>.esp
  std::filesystem::path workspace;  // the supervisor's scratch directory is made here
};

// `esp_dir` opened from `workspace` without following a link.
base::UniqueFd open_esp_dir(const EspSigning& signing);

// The EFI binaries of the copies of partitions `ids` (the FAT ones), each
// partition's in find_efi_binaries' order. None at all is an error: the keys
// ask for a signed boot chain.
std::vector<EfiBinary> list_esp_binaries(const EspSigning& signing, const std::vector<std::string>& ids);

// "sign-esp-N" and "verify-esp-N" for each binary, in order, the first after
// `after` ("" = at once); the names of the verify jobs (what finish-disk comes after) are
// added to `last`. The signed copies live in a directory removed when the
// last job holding it goes.
std::vector<StageJob> esp_signing_jobs(const EspSigning& signing, const std::vector<EfiBinary>& binaries,
                                       const std::string& after, std::vector<std::string>& last,
                                       EspSigningReport& report);

}  // namespace supervisor
