// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> when built with
// sanitizers (GCC bug 105562); it must be silenced before any std header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "config/rules.hpp"

#include <algorithm>
#include <array>
#include <regex>
#include <vector>

#include "base/edit_distance.hpp"

namespace config::rules {
namespace {

constexpr std::array<std::string_view, 6> kOsList{
    "azure-linux", "edge-microvisor-toolkit", "wind-river-elxr", "ubuntu",
    "redhat-compatible-distro", "debian"};
constexpr std::array<std::string_view, 3> kArchList{"x86_64", "aarch64", "armv7hl"};
constexpr std::array<std::string_view, 3> kImageTypeList{"raw", "iso", "img"};
constexpr std::array<std::string_view, 2> kTableList{"gpt", "mbr"};
constexpr std::array<std::string_view, 6> kArtifactList{"raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi"};
constexpr std::array<std::string_view, 5> kCompressionList{"gz", "gzip", "xz", "zstd", "bz2"};
constexpr std::array<std::string_view, 2> kBootTypeList{"efi", "legacy"};
constexpr std::array<std::string_view, 3> kProviderList{"grub", "grub2", "systemd-boot"};
constexpr std::array<std::string_view, 4> kHashAlgoList{"sha512", "sha256", "md5", "bcrypt"};
constexpr std::array<std::string_view, 15> kPartitionTypeList{
    "linux", "bios", "esp", "xbootldr", "linux-root-amd64", "linux-root-arm64", "linux-swap",
    "linux-home", "linux-srv", "linux-var", "linux-tmp", "linux-lvm", "linux-raid", "linux-luks",
    "linux-dm-crypt"};
constexpr std::array<std::string_view, 9> kFsTypeList{
    "ext2", "ext3", "ext4", "xfs", "fat16", "fat32", "vfat", "linux-swap", "swap"};

bool matches(std::string_view s, const std::regex& re) {
  return std::regex_match(s.begin(), s.end(), re);
}

}  // namespace

const Allowed kTargetOses{kOsList};
const Allowed kArches{kArchList};
const Allowed kImageTypes{kImageTypeList};
const Allowed kPartitionTableTypes{kTableList};
const Allowed kArtifactTypes{kArtifactList};
const Allowed kCompressions{kCompressionList};
const Allowed kBootTypes{kBootTypeList};
const Allowed kBootloaderProviders{kProviderList};
const Allowed kHashAlgos{kHashAlgoList};
const Allowed kPartitionTypes{kPartitionTypeList};
const Allowed kFsTypes{kFsTypeList};

bool is_one_of(std::string_view value, Allowed allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::string describe(Allowed allowed) {
  std::string out = "one of: ";
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += ", ";
    out += allowed[i];
  }
  return out;
}

bool is_image_name(std::string_view s) {
  static const std::regex re{R"(^[a-zA-Z0-9]([a-zA-Z0-9\-_]*[a-zA-Z0-9])?$)"};
  return matches(s, re);
}

bool is_image_version(std::string_view s) {
  static const std::regex re{
      R"(^[0-9]+(\.([0-9]+|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)){0,2}(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$)"};
  return matches(s, re);
}

bool is_package_name(std::string_view s) {
  static const std::regex re{R"(^[A-Za-z0-9][A-Za-z0-9+_.:~*?\[\]-]*$)"};
  return matches(s, re);
}

bool is_user_name(std::string_view s) {
  static const std::regex re{R"(^[a-z_][a-z0-9_-]*[$]?$)"};
  return s.size() <= 32 && matches(s, re);
}

bool is_uuid(std::string_view s) {
  static const std::regex re{
      R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)"};
  return matches(s, re);
}

bool is_crypt_hash(std::string_view s) {
  static const std::regex md5_sha{R"(^\$(1|5|6)\$(rounds=[0-9]+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]+$)"};
  static const std::regex bcrypt{R"(^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$)"};
  static const std::regex yescrypt{R"(^\$(y|gy|7)\$[./A-Za-z0-9]+\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+$)"};
  return matches(s, md5_sha) || matches(s, bcrypt) || matches(s, yescrypt);
}

bool is_secure_boot_file(std::string_view s, std::string_view extensions) {
  // Letters, digits, "_ . / -" and ${VAR} tokens, ending in one of `extensions`.
  const std::regex re{R"(^[A-Za-z0-9_./${}-]+\.()" + std::string(extensions) + ")$"};
  return matches(s, re);
}

bool is_url(std::string_view s) {
  static const std::regex re{R"(^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$)"};
  return matches(s, re);
}

std::string nearest(std::string_view word, Allowed candidates) { return base::nearest_word(word, candidates); }

}  // namespace config::rules
