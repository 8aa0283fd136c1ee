// Per-OS provider data from config/osv/<os>/<dist>/: which package format,
// which repositories and keys, and which packages make the build
// environment. The data is plain YAML; this module only reads and checks it
// (layout: docs/providers.md).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

enum class PackageType { kDeb, kRpm };

std::string_view to_string(PackageType type) noexcept;

// A public key that signs a repository's metadata or packages.
struct KeyRef {
  std::string location;                   // https:// or file:// URL, or absolute path
                                          // (keyFiles: shipped in the OS directory)
  std::vector<std::string> fingerprints;  // optional pin: primary-key fingerprints
                                          // (upper-case hex) of which one must sign
};

struct Repository {
  std::string name;
  PackageType type = PackageType::kDeb;
  std::string base_url;                   // no trailing '/'; {arch} already substituted
  std::string suite;                      // deb: the codename under dists/; rpm: empty
  std::vector<std::string> components;    // deb: "main", ...; rpm: a label
  std::vector<std::string> architectures; // deb: [amd64, all]; rpm: [x86_64, noarch]
  std::vector<KeyRef> keys;
  std::string release_file;               // absolute URL of Release / repomd.xml
  std::string release_sign;               // absolute URL of the detached signature,
                                          // empty when there is none to check
  bool gpg_check = true;                  // package signatures are checked
  bool repo_gpg_check = true;             // metadata signature is checked
  bool enabled = true;
  bool from_host_apt = false;             // base_url came from the machine's apt sources
};

// The image's own GRUB, as the installer runs it (config.yml `grub:`).
struct GrubNames {
  std::string mkstandalone;     // in the image's /usr/bin: "grub-mkstandalone", "grub2-mkstandalone"
  std::string modules_dir;      // the EFI platform's modules: "/usr/lib/grub/x86_64-efi"
  std::string config_dir;       // below /boot, holds grub.cfg: "/boot/grub", "/boot/grub2"
  std::string tools_package;    // ships mkstandalone, named when it is missing
  std::string modules_package;  // ships modules_dir, named when it is missing
  // The ISO's boot images (stage-isomaker), from the live environment's GRUB:
  std::string mkimage;           // in its /usr/bin: "grub-mkimage", "grub2-mkimage"
  std::string bios_modules_dir;  // i386-pc modules: "/usr/lib/grub/i386-pc"; empty: no BIOS boot
  // Secure Boot of a GRUB image (`grub: secureBoot:`): shim from the image
  // loads the signed GRUB; all three empty = not described (refused).
  std::string shim{};            // the unsigned shim in the image: "/usr/lib/shim/shimx64.efi"
  std::string shim_package{};    // ships it: "shim-unsigned"
  std::string sbat{};            // GRUB's SBAT CSV: the generations shim requires (grub,5)
};

// What the image stages must know of the distribution: each per-arch entry
// of config.yml names them (docs/providers.md), none is guessed from a name.
struct DistributionFacts {
  std::string initramfs_tool;    // "initramfs-tools" or "dracut": makes the initramfs when
                                 // the image's packages hold neither tool
  std::string purl_type;         // "deb" or "rpm": the SBOM's package URL type
  std::string sudo_group;        // "sudo" or "wheel": the group a sudo user joins
  std::string initrd_file_name;  // in /boot, "{kver}" = kernel version: "initrd.img-{kver}"
  std::string rpm_db_path;       // rpm: the image's rpmdb ("/var/lib/rpm"); deb: empty
  std::vector<std::string> deferred_packages;  // rpm: installed last, without scripts ("initramfs")
  GrubNames grub;
  std::string initrd_compression = "gzip";  // of an initrd image (imageType img): gzip, zstd, xz or none
};

struct ChrootEnv {
  std::vector<std::string> essential;     // installed first, in this order
  std::vector<std::string> packages;
};

struct ProviderData {
  std::string id;                         // "<os>-<dist>-<arch>"
  std::string os;
  std::string dist;
  std::string arch;                       // template name: x86_64, aarch64, armv7hl
  std::string package_arch;               // deb: amd64/arm64/armhf; rpm: = arch
  PackageType package_type = PackageType::kDeb;
  std::string release_version;
  std::filesystem::path os_dir;           // <config_dir>/osv/<os>/<dist>
  std::vector<Repository> repositories;   // enabled and disabled, in file order
  ChrootEnv chroot_env;
  DistributionFacts facts;
};

struct ProviderOptions {
  // Where "source: host-apt" repositories are looked up.
  std::filesystem::path etc_apt = "/etc/apt";
  // The template brings its own packageRepositories, which replace the
  // host-apt entries: those are dropped instead of being looked up.
  bool skip_host_apt = false;
  // Receives what the data says that is read but not acted on (keys of the
  // reference tool's files, docs/providers.md). Unset: "warn: ..." on stderr.
  std::function<void(const std::string&)> warn;
};

// Loads <config_dir>/osv/<os>/<dist>/ for one architecture. Throws
// base::Error (kInvalidInput) naming the file and line of bad data, or the
// apt sources searched when a required host-apt suite is not served.
ProviderData load_provider(const std::filesystem::path& config_dir, std::string_view os,
                           std::string_view dist, std::string_view arch,
                           const ProviderOptions& options = {});

// Every (os, dist, arch) under <config_dir>/osv, sorted, as declared in each
// config.yml.
struct ProviderTarget {
  std::string os;
  std::string dist;
  std::string arch;
  auto operator<=>(const ProviderTarget&) const = default;
};
std::vector<ProviderTarget> list_providers(const std::filesystem::path& config_dir);

// Debian's name for a template architecture (x86_64 -> amd64); throws for
// an unknown one.
std::string debian_arch(std::string_view arch);

}  // namespace config
