#include "stages/installer/bootloader.hpp"
#include "stages/installer/grub_memdisk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/error.hpp"
#include "base/pe_image.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"
#include "ipc/shared.capnp.h"

namespace stage::installer {
namespace {

constexpr std::chrono::seconds kGrubTimeout{300};
constexpr std::uint64_t kUkiAlignment = 4096;
constexpr const char* kObjcopy = "/usr/bin/objcopy";
constexpr const char* kGrubModules =
    "part_gpt part_msdos fat ext2 search search_fs_uuid search_label linux normal configfile echo gzio all_video";
// Secure Boot: GRUB loads nothing from a disk (modules from a disk are
// refused under lockdown), so all it needs is built in.
constexpr const char* kGrubSecureBootModules =
    "part_gpt part_msdos fat ext2 search search_fs_uuid search_label search_fs_file linux linuxefi normal echo "
    "gzio all_video serial terminal test sleep reboot halt minicmd";
constexpr const char* kStubDir = "usr/lib/systemd/boot/efi/";
constexpr const char* kGrubPlatform = "x86_64-efi";  // the only one whose binary is BOOTX64.EFI

struct OsIdentity {
  std::string id = "linux";      // file and directory names on the ESP
  std::string title = "Linux";   // menu titles
  std::string os_release;        // the whole file, for the UKI
};

std::string strip_slashes(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  while (path.ends_with('/')) path.remove_suffix(1);
  return std::string(path);
}

std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

void require_in_tree(const std::filesystem::path& root, const std::string& path, std::string_view package) {
  if (exists_in_root(root, path)) return;
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "Failed to install the boot loader: '/" + path + "' is not in the image")
      .with_hint("add the package '" + std::string(package) + "' to the template's packages");
}

// os-release values may be quoted; ID names files, so only safe characters stay.
OsIdentity read_os_identity(const std::filesystem::path& root) {
  OsIdentity os;
  std::optional<std::string> text = read_file_in_root(root, "etc/os-release");
  if (!text) text = read_file_in_root(root, "usr/lib/os-release");
  if (!text) return os;
  os.os_release = *text;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    const std::string key = line.substr(0, eq);
    const bool safe_id = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
             c == '-' || c == '_' || c == '.';
    });
    if (key == "ID" && safe_id) os.id = value;
    if (key == "PRETTY_NAME" && !value.empty()) os.title = value;
  }
  return os;
}

// Streams one file of the tree to another place in the tree.
void copy_in_root(const std::filesystem::path& root, const std::string& from, const std::string& to, mode_t mode) {
  base::UniqueFd in = open_in_root(root, from, O_RDONLY);
  base::check(in.valid(), "Failed to copy '/" + from + "': it does not exist");
  make_dirs_in_root(root, std::filesystem::path(strip_slashes(to)).parent_path().string());
  base::UniqueFd out = open_in_root(root, to, O_WRONLY | O_CREAT | O_TRUNC, mode);
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(in.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", (root / strip_slashes(from)).string());
    if (n == 0) break;
    base::write_all(out.get(), std::string_view(buffer, static_cast<std::size_t>(n)),
                    (root / strip_slashes(to)).string());
  }
  base::check_syscall(::fchmod(out.get(), mode), "chmod", (root / strip_slashes(to)).string());
}

bool normal_absolute(const std::string& path) {
  const std::filesystem::path p(path);
  return p.is_absolute() && p.lexically_normal() == p && p != "/";
}

// The request's GRUB names, checked before one is used as a path or a program.
void check_grub_names(const GrubNames& grub) {
  base::require(!grub.mkstandalone.empty() && grub.mkstandalone.find('/') == std::string::npos &&
                    !grub.mkstandalone.starts_with('.'),
                "Invalid GRUB tool name '" + grub.mkstandalone + "': it must be a file name in /usr/bin");
  base::require(normal_absolute(grub.modules_dir),
                "Invalid GRUB modules directory '" + grub.modules_dir + "': it must be a normal absolute path");
  base::require(normal_absolute(grub.config_dir) && grub.config_dir.starts_with("/boot/"),
                "Invalid GRUB configuration directory '" + grub.config_dir + "': it must be a normal path below /boot");
  const std::string platform = std::filesystem::path(grub.modules_dir).filename().string();
  if (platform != kGrubPlatform) {
    throw base::Error(base::ErrorKind::kUnimplemented, "GRUB for the EFI platform '" + platform + "' (" +
                                                          grub.modules_dir + ") is not supported yet: only " +
                                                          kGrubPlatform);
  }
}

// The tree's grub.cfg as GRUB sees it on /boot's file system.
std::string grub_config_on_boot(const BootSettings& settings) {
  const std::string& dir = settings.grub.config_dir;
  base::require(dir.starts_with("/boot/"), "Invalid GRUB configuration directory '" + dir + "': it must be below /boot");
  return boot_prefix(settings) + dir.substr(std::string_view("/boot").size()) + "/grub.cfg";
}

std::string grub_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string_view root_hash_placeholder() { return ipc::proto::ROOT_HASH_PLACEHOLDER.get().cStr(); }

bool has_verity(const BootSettings& settings) {
  return !settings.verity_data_uuid.empty() || !settings.verity_hash_uuid.empty();
}

// 8-4-4-4-12 hex digits: what a GPT partition UUID looks like, and nothing
// that could add a word to the kernel command line.
bool is_partition_uuid(std::string_view uuid) {
  if (uuid.size() != 36) return false;
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? uuid[i] != '-' : std::isxdigit(static_cast<unsigned char>(uuid[i])) == 0) return false;
  }
  return true;
}

class BootInstaller {
 public:
  BootInstaller(const std::filesystem::path& root, const BootSettings& settings, const KernelInfo& kernel,
                const CommandRunner& run, const HostRunner& host)
      : root_(root), settings_(settings), kernel_(kernel), run_(run), host_(host), os_(read_os_identity(root)),
        esp_(strip_slashes(settings.esp)), has_initrd_(exists_in_root(root, kernel.initrd_path)) {}

  std::vector<std::string> install() {
    const std::string& provider = settings_.provider;
    if (provider == "grub" || provider == "grub2") {
      install_grub();
    } else if (provider == "systemd-boot") {
      install_systemd_boot();
    } else {
      base::require(provider.empty() || provider == "none",
                   "Unknown boot loader provider '" + provider + "': use grub or systemd-boot");
      base::require(settings_.uki, "Failed to install the boot loader: no provider and no UKI; "
                                  "set a provider (grub, systemd-boot) or kernel.uki");
    }
    if (settings_.uki) install_uki(provider.empty() || provider == "none");
    return written_;
  }

 private:
  void write(const std::string& path, std::string_view content) {
    write_file_in_root(root_, path, content, 0644);
    written_.push_back(strip_slashes(path));
  }
  void copy(const std::string& from, const std::string& to) {
    copy_in_root(root_, from, to, 0644);
    written_.push_back(strip_slashes(to));
  }

  void install_grub() {
    const GrubNames& grub = settings_.grub;
    check_grub_names(grub);
    require_in_tree(root_, strip_slashes(grub.modules_dir) + "/linux.mod", grub.modules_package);
    require_in_tree(root_, "usr/bin/" + grub.mkstandalone, grub.tools_package);
    if (settings_.secure_boot) return install_grub_secure_boot();
    // A dm-verity root cannot hold its own root hash: the whole menu is then
    // inside the EFI binary (and beside it on the ESP), where the disk maker
    // writes the hash; the tree gets no grub.cfg.
    const bool verity = has_verity(settings_);
    const KernelInfo& kernel = has_initrd_ ? kernel_ : without_initrd();
    const std::string embedded = verity ? grub_config(settings_, kernel, os_.title) : grub_embedded_config(settings_);
    const std::string boot_dir = esp_ + "/EFI/BOOT";
    make_dirs_in_root(root_, boot_dir);
    // mkstandalone runs in the chroot, so its input is a file of the tree. Its
    // memdisk keeps the name boot/grub/grub.cfg whatever the distribution's.
    const std::string scratch = "tmp/os-image-composer-grub-embedded.cfg";
    write_file_in_root(root_, scratch, embedded, 0644);
    run_(ChrootCommand{.argv = {grub.mkstandalone, "-O", kGrubPlatform, "--directory=" + grub.modules_dir,
                                std::string("--modules=") + kGrubModules, "--locales=", "--fonts=", "--themes=",
                                "-o", "/" + boot_dir + "/BOOTX64.EFI", "boot/grub/grub.cfg=/" + scratch},
                       .timeout = kGrubTimeout},
         "Failed to make the GRUB EFI binary");
    base::UniqueFd tmp = open_in_root(root_, "tmp", O_PATH | O_DIRECTORY);
    if (tmp) ::unlinkat(tmp.get(), std::filesystem::path(scratch).filename().c_str(), 0);
    base::check(exists_in_root(root_, boot_dir + "/BOOTX64.EFI"), grub.mkstandalone + " wrote no BOOTX64.EFI");
    settle_memdisk_times(boot_dir + "/BOOTX64.EFI");
    written_.push_back(boot_dir + "/BOOTX64.EFI");
    write(boot_dir + "/grub.cfg", embedded);
    if (!verity) write(strip_slashes(grub.config_dir) + "/grub.cfg", grub_config(settings_, kernel, os_.title));
  }

  // shim as the removable path's loader, GRUB as shim's grubx64.efi beside
  // it with the whole menu inside, kernel and initrd on the ESP: every file
  // the chain runs is on the ESP, which the supervisor signs (shim checks
  // GRUB, GRUB asks shim to check the kernel). The initrd is not checked.
  void install_grub_secure_boot() {
    const GrubNames& grub = settings_.grub;
    const std::string what = "Failed to install GRUB for Secure Boot (systemConfig.immutability.secureBootDB*)";
    base::require(!grub.shim.empty() && !grub.sbat.empty(),
                  what + ": the OS data (config.yml grub: secureBoot:) names no shim and SBAT for this distribution");
    base::require(normal_absolute(grub.shim), what + ": the shim path '" + grub.shim + "' is not a normal absolute path");
    base::require(!settings_.esp_uuid.empty(), what + ": the ESP's volume id is not known");
    require_in_tree(root_, strip_slashes(grub.shim), grub.shim_package);
    const std::string boot_dir = esp_ + "/EFI/BOOT";
    make_dirs_in_root(root_, boot_dir);
    std::string shim = read_file_in_root(root_, strip_slashes(grub.shim)).value_or("");
    {
      base::ErrorContext ctx{"reading the shim", grub.shim};
      base::disable_shim_vendor_cert(shim);
    }
    write(boot_dir + "/BOOTX64.EFI", shim);

    const std::string dir = "/EFI/" + os_.id + "/";
    const std::string kernel = dir + file_name(kernel_.kernel_path);
    const std::string initrd = has_initrd_ ? dir + file_name(kernel_.initrd_path) : "";
    copy(kernel_.kernel_path, esp_ + kernel);
    if (has_initrd_) copy(kernel_.initrd_path, esp_ + initrd);

    const std::string menu = "tmp/os-image-composer-grub-menu.cfg";
    const std::string sbat = "tmp/os-image-composer-grub-sbat.csv";
    write_file_in_root(root_, menu, grub_secure_boot_config(settings_, kernel, initrd, os_.title), 0644);
    write_file_in_root(root_, sbat, grub.sbat, 0644);
    run_(ChrootCommand{.argv = grub_secure_boot_argv(grub, "/" + sbat, "/" + menu, "/" + boot_dir + "/grubx64.efi"),
                       .timeout = kGrubTimeout},
         "Failed to make the GRUB EFI binary for Secure Boot");
    base::UniqueFd tmp = open_in_root(root_, "tmp", O_PATH | O_DIRECTORY);
    for (const std::string& scratch : {menu, sbat}) {
      if (tmp) ::unlinkat(tmp.get(), std::filesystem::path(scratch).filename().c_str(), 0);
    }
    base::check(exists_in_root(root_, boot_dir + "/grubx64.efi"), grub.mkstandalone + " wrote no grubx64.efi");
    settle_memdisk_times(boot_dir + "/grubx64.efi");
    written_.push_back(boot_dir + "/grubx64.efi");
  }

  // The build time, when the stage has one (SOURCE_DATE_EPOCH).
  static std::optional<std::int64_t> build_time() {
    const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
    if (epoch == nullptr || *epoch == '\0') return std::nullopt;
    return std::stoll(epoch);
  }

  // The build time in grub-mkstandalone's memdisk (grub_memdisk.hpp).
  void settle_memdisk_times(const std::string& efi) const {
    if (const auto time = build_time()) settle_grub_memdisk_times(root_.string(), efi, *time);
  }

  void install_systemd_boot() {
    const std::string loader = std::string(kStubDir) + "systemd-bootx64.efi";
    require_in_tree(root_, loader, "systemd-boot-efi");
    copy(loader, esp_ + "/EFI/BOOT/BOOTX64.EFI");
    copy(loader, esp_ + "/EFI/systemd/systemd-bootx64.efi");
    // A UKI in EFI/Linux is found by systemd-boot without an entry file.
    const std::string entry = settings_.uki ? uki_name() : os_.id + ".conf";
    write(esp_ + "/loader/loader.conf", "timeout 1\ndefault " + entry + "\n");
    if (settings_.uki) return;
    const std::string dir = "/" + os_.id + "/";
    std::string conf = "title " + os_.title + "\nversion " + kernel_.version + "\nlinux " + dir +
                       file_name(kernel_.kernel_path) + "\n";
    copy(kernel_.kernel_path, esp_ + dir + file_name(kernel_.kernel_path));
    if (has_initrd_) {
      copy(kernel_.initrd_path, esp_ + dir + file_name(kernel_.initrd_path));
      conf += "initrd " + dir + file_name(kernel_.initrd_path) + "\n";
    }
    write(esp_ + "/loader/entries/" + entry, conf + "options " + kernel_arguments(settings_) + "\n");
  }

  void install_uki(bool as_default_loader) {
    const std::string stub = std::string(kStubDir) + "linuxx64.efi.stub";
    require_in_tree(root_, stub, "systemd-boot-efi");
    base::require(!os_.os_release.empty(), "Failed to build the UKI: the image has no os-release file");
    // objcopy runs on the host: it is given copies in a scratch directory of
    // the tree, so no symlink of the tree can point it elsewhere.
    const std::string work = "tmp/os-image-composer-uki";
    const std::filesystem::path host_work = root_ / work;
    // Host paths are used below: the tree's /tmp must not lead elsewhere.
    base::check(std::filesystem::symlink_status(root_ / "tmp").type() == std::filesystem::file_type::directory,
               "Failed to build the UKI: '" + (root_ / "tmp").string() + "' is not a directory");
    std::filesystem::remove_all(host_work);
    make_dirs_in_root(root_, work);
    write_file_in_root(root_, work + "/osrel", os_.os_release, 0644);
    const std::string cmdline = kernel_arguments(settings_);
    check_placeholder_once(cmdline);
    write_file_in_root(root_, work + "/cmdline", cmdline, 0644);
    copy_in_root(root_, stub, work + "/stub.efi", 0644);
    copy_in_root(root_, kernel_.kernel_path, work + "/linux", 0644);
    std::vector<UkiSection> sections = {{".osrel", (host_work / "osrel").string(), 0},
                                        {".cmdline", (host_work / "cmdline").string(), 0},
                                        {".linux", (host_work / "linux").string(), 0}};
    if (has_initrd_) {
      copy_in_root(root_, kernel_.initrd_path, work + "/initrd", 0644);
      sections.push_back({".initrd", (host_work / "initrd").string(), 0});
    }
    for (UkiSection& s : sections) s.size = std::filesystem::file_size(s.file);
    const std::string stub_bytes = *read_file_in_root(root_, work + "/stub.efi");
    host_(uki_objcopy_argv(read_pe_layout(stub_bytes), sections, (host_work / "stub.efi").string(),
                           (host_work / "uki.efi").string()),
          "Failed to build the UKI with objcopy");
    if (const auto time = build_time()) {  // objcopy stamped it with the time it ran
      std::string uki = *read_file_in_root(root_, work + "/uki.efi");
      base::set_pe_timestamp(uki, static_cast<std::uint32_t>(std::clamp<std::int64_t>(*time, 0, UINT32_MAX)),
                             "the UKI objcopy made");
      write_file_in_root(root_, work + "/uki.efi", uki, 0644);
    }
    copy(work + "/uki.efi", esp_ + "/EFI/Linux/" + uki_name());
    if (as_default_loader) copy(work + "/uki.efi", esp_ + "/EFI/BOOT/BOOTX64.EFI");
    std::filesystem::remove_all(host_work);
  }

  // The disk maker replaces the placeholder in the UKI by the root hash: it
  // must be there once, and not there without verity.
  void check_placeholder_once(const std::string& cmdline) const {
    const std::string_view placeholder = root_hash_placeholder();
    std::size_t count = 0;
    for (auto at = cmdline.find(placeholder); at != std::string::npos; at = cmdline.find(placeholder, at + 1)) ++count;
    base::require(count == (has_verity(settings_) ? 1u : 0u),
                  "Failed to build the UKI: its command line holds the root hash placeholder " +
                      std::to_string(count) + " times; the dm-verity root needs it exactly once, a root without "
                      "it never: '" + cmdline + "'");
  }

  std::string uki_name() const { return os_.id + "-" + kernel_.version + ".efi"; }
  KernelInfo without_initrd() const { return {kernel_.version, kernel_.kernel_path, ""}; }

  const std::filesystem::path& root_;
  const BootSettings& settings_;
  const KernelInfo& kernel_;
  const CommandRunner& run_;
  const HostRunner& host_;
  OsIdentity os_;
  std::string esp_;
  bool has_initrd_;
  std::vector<std::string> written_;
};

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string hex(std::uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

}  // namespace


BootSettings decode_boot_settings(ipc::proto::InstallerRequest::Reader request) {
  const auto grub = request.getGrub();  // unset: the schema's, Debian's
  return {.type = request.getBootloader().getType(),
          .provider = request.getBootloader().getProvider(),
          .uki = request.getUki(),
          .esp = request.getEspMountPoint(),
          .root_uuid = request.getRootFsUuid(),
          .boot_uuid = request.getBootFsUuid(),
          .cmdline = request.getKernelCmdline(),
          .grub = {.mkstandalone = grub.getMkstandalone(),
                   .modules_dir = grub.getModulesDir(),
                   .config_dir = grub.getConfigDir(),
                   .tools_package = grub.getToolsPackage(),
                   .modules_package = grub.getModulesPackage(),
                   .shim = grub.getShim(),
                   .shim_package = grub.getShimPackage(),
                   .sbat = grub.getSbat()},
          .verity_data_uuid = request.getVerity().getDataPartUuid(),
          .verity_hash_uuid = request.getVerity().getHashPartUuid(),
          .secure_boot = request.getSecureBoot(),
          .esp_uuid = request.getEspFsUuid()};
}

std::string kernel_arguments(const BootSettings& settings) {
  std::string args;
  if (has_verity(settings)) {
    // systemd-veritysetup-generator (systemd 252) opens /dev/mapper/root from these.
    args = "root=/dev/mapper/root ro roothash=" + std::string(root_hash_placeholder()) +
           " systemd.verity_root_data=PARTUUID=" + settings.verity_data_uuid +
           " systemd.verity_root_hash=PARTUUID=" + settings.verity_hash_uuid;
  } else {
    args = "root=UUID=" + settings.root_uuid + " ro";
  }
  if (!settings.cmdline.empty()) args += " " + settings.cmdline;
  return args;
}

void check_verity_boot(const BootSettings& settings) {
  if (!has_verity(settings)) return;
  const std::string what = "Failed to set up the dm-verity root (systemConfig.immutability.enabled)";
  for (const std::string* uuid : {&settings.verity_data_uuid, &settings.verity_hash_uuid}) {
    base::require(is_partition_uuid(*uuid), what + ": partition UUID '" + *uuid +
                                                "' of the root's data or hash partition is not a GPT partition UUID");
  }
  const bool grub = settings.provider == "grub" || settings.provider == "grub2";
  base::require(grub || settings.uki,
                what + ": it needs the kernel command line in an EFI binary (a UKI, or GRUB with its menu inside), "
                       "where the root hash is written and that Secure Boot signs; set systemConfig.kernel.uki to "
                       "true or systemConfig.bootloader.provider to grub, or systemConfig.immutability.enabled to "
                       "false");
  std::istringstream words(settings.cmdline);
  for (std::string word; words >> word;) {
    const bool own = word.starts_with("root=") || word.starts_with("roothash=") ||
                     word.starts_with("systemd.verity") || word.find(root_hash_placeholder()) != std::string::npos;
    base::require(!own, what + ": the template's kernel command line (systemConfig.kernel.cmdline) has '" + word +
                            "'; the dm-verity root sets root=, roothash= and systemd.verity_root_* itself");
  }
}

std::string boot_prefix(const BootSettings& settings) {
  const bool separate = !settings.boot_uuid.empty() && settings.boot_uuid != settings.root_uuid;
  return separate ? "" : "/boot";
}

std::string grub_embedded_config(const BootSettings& settings) {
  const std::string uuid = settings.boot_uuid.empty() ? settings.root_uuid : settings.boot_uuid;
  // $prefix stays on the binary's memdisk, where its modules are: the tree
  // has no modules under its GRUB directory since grub-install never runs.
  return "search --no-floppy --fs-uuid --set=root " + uuid + "\nconfigfile ($root)" + grub_config_on_boot(settings) +
         "\n";
}

namespace {

// The serial console, a one-second timeout and the opening of the one entry:
// the same in GRUB's configuration on disk and in the signed GRUB's memdisk.
std::string grub_menu_start(std::string_view title) {
  return "serial --unit=0 --speed=115200\n"
         "terminal_input serial console\n"
         "terminal_output serial console\n"
         "set timeout=1\n"
         "set default=0\n"
         "\n"
         "menuentry " + grub_quote(title) + " {\n";
}

}  // namespace

std::string grub_config(const BootSettings& settings, const KernelInfo& kernel, std::string_view title) {
  const std::string uuid = settings.boot_uuid.empty() ? settings.root_uuid : settings.boot_uuid;
  const std::string prefix = boot_prefix(settings) + "/";
  std::string cfg =
      "# " + settings.grub.config_dir + "/grub.cfg, written by os-image-composer.\n"
      + grub_menu_start(title) +
      "\tinsmod part_gpt\n"
      "\tinsmod ext2\n"
      "\tinsmod gzio\n"
      "\tsearch --no-floppy --fs-uuid --set=root " + uuid + "\n"
      "\tlinux " + prefix + file_name(kernel.kernel_path) + " " + kernel_arguments(settings) + "\n";
  if (!kernel.initrd_path.empty()) cfg += "\tinitrd " + prefix + file_name(kernel.initrd_path) + "\n";
  return cfg + "}\n";
}

std::string grub_secure_boot_config(const BootSettings& settings, std::string_view kernel, std::string_view initrd,
                                    std::string_view title) {
  std::string cfg =
      "# The menu inside the signed GRUB (boot/grub/grub.cfg of its memdisk), written by os-image-composer.\n"
      + grub_menu_start(title) +
      "\tsearch --no-floppy --fs-uuid --set=root " + settings.esp_uuid + "\n"
      "\tlinux " + std::string(kernel) + " " + kernel_arguments(settings) + "\n";
  if (!initrd.empty()) cfg += "\tinitrd " + std::string(initrd) + "\n";
  return cfg + "}\n";
}

std::vector<std::string> grub_secure_boot_argv(const GrubNames& grub, const std::string& sbat,
                                               const std::string& menu, const std::string& output) {
  return {grub.mkstandalone, "-O", kGrubPlatform, "--directory=" + grub.modules_dir,
          std::string("--modules=") + kGrubSecureBootModules, std::string("--install-modules=") + kGrubSecureBootModules,
          "--sbat", sbat, "--locales=", "--fonts=", "--themes=", "-o", output, "boot/grub/grub.cfg=" + menu};
}

PeLayout read_pe_layout(std::string_view image) {
  const base::PeImage pe = base::read_pe_image(image, "the EFI stub");
  base::require(pe.optional_magic == 0x20b || pe.optional_magic == 0x10b,
                "Failed to read the EFI stub: unknown optional header");
  PeLayout layout{.image_base = pe.image_base};
  for (const base::PeSection& section : pe.sections) {
    const std::uint64_t size = section.virtual_size != 0 ? section.virtual_size : section.raw_size;
    layout.end_rva = std::max(layout.end_rva, section.virtual_address + size);
  }
  base::require(layout.end_rva > 0, "Failed to read the EFI stub: it has no sections");
  return layout;
}

std::vector<std::string> uki_objcopy_argv(const PeLayout& stub, const std::vector<UkiSection>& sections,
                                          const std::string& stub_path, const std::string& output_path) {
  std::vector<std::string> argv = {kObjcopy};
  std::uint64_t rva = align_up(stub.end_rva, kUkiAlignment);
  for (const UkiSection& s : sections) {
    argv.insert(argv.end(), {"--add-section", s.name + "=" + s.file, "--change-section-vma",
                             s.name + "=" + hex(stub.image_base + rva)});
    rva = align_up(rva + s.size, kUkiAlignment);
  }
  argv.insert(argv.end(), {stub_path, output_path});
  return argv;
}

std::string run_host_program(const std::vector<std::string>& argv, const std::string& what) {
  base::check(!argv.empty() && argv[0].starts_with('/'), "run_host_program needs an absolute program path");
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC), "pipe2");
  base::UniqueFd out_read(fds[0]), out_write(fds[1]);
  std::vector<std::string> args = argv;
  std::vector<char*> c_args;
  for (std::string& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  const pid_t pid = base::check_syscall(::fork(), "fork", argv[0]);
  if (pid == 0) {
    ::dup2(out_write.get(), 1);
    ::dup2(out_write.get(), 2);
    ::execv(c_args[0], c_args.data());
    ::_exit(127);
  }
  out_write.reset();
  std::string output;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  const std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                            : "was killed by signal " + std::to_string(WTERMSIG(status));
  throw base::Error(base::ErrorKind::kFailed, what + ": '" + argv[0] + "' " + how + "\n" + output.substr(0, 4000));
}

std::vector<std::string> install_boot_loader(const std::filesystem::path& root,
                                             ipc::proto::InstallerRequest::Reader request,
                                             const std::optional<KernelInfo>& kernel) {
  return install_boot_loader(root, decode_boot_settings(request), kernel, make_chroot_runner(root),
                             run_host_program);
}

std::vector<std::string> install_boot_loader(const std::filesystem::path& root, const BootSettings& settings,
                                             const std::optional<KernelInfo>& kernel, const CommandRunner& run,
                                             const HostRunner& host) {
  base::ErrorContext ctx{"installing the boot loader into", root.string()};
  check_verity_boot(settings);
  if (settings.type.empty()) return {};  // an image without a boot loader (a container base)
  if (settings.type == "none") {
    // Said explicitly: an initrd image, booted by whoever loads it.
    base::require(!settings.uki, "Failed to install the boot loader: kernel.uki needs a boot loader type (efi); "
                                "this request's type is none");
    return {};
  }
  if (settings.type == "legacy") {
    throw base::Error(base::ErrorKind::kInvalidInput, "legacy BIOS boot is not supported yet: use bootType efi");
  }
  base::require(settings.type == "efi", "Unknown boot loader type '" + settings.type + "': use efi (or none)");
  const std::filesystem::path esp(settings.esp);
  base::require(!settings.esp.empty(), "Failed to install the EFI boot loader: the image has no ESP "
                                      "(no partition is mounted for it; espMountPoint is empty)");
  base::require(esp.is_absolute() && std::find(esp.begin(), esp.end(), "..") == esp.end(),
               "Invalid ESP mount point '" + settings.esp + "': it must be an absolute path without '..'");
  base::require(!settings.root_uuid.empty(), "Failed to install the boot loader: no file system UUID for '/'");
  if (!kernel) {
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to install the boot loader: the image has no kernel "
                                                    "(/boot/vmlinuz-*)")
        .with_hint("add the distribution's kernel package to the template's systemConfig.kernel.packages");
  }
  return BootInstaller(root, settings, *kernel, run, host).install();
}

}  // namespace stage::installer
