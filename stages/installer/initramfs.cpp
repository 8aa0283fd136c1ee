#include "stages/installer/initramfs.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <sstream>
#include <system_error>

#include "base/error.hpp"

namespace stage::installer {
namespace {

// A big initramfs with every module (no host-only mode) takes a few minutes
// on a slow machine; far more means a hung hook.
constexpr std::chrono::seconds kInitramfsTimeout{1800};

constexpr std::string_view kKernelPrefix = "vmlinuz-";
constexpr std::string_view kDracutVerityModule = "systemd-veritysetup";

bool has_program(const std::filesystem::path& root, std::string_view name) {
  for (const char* dir : {"usr/sbin/", "usr/bin/", "sbin/", "bin/"}) {
    if (exists_in_root(root, std::string(dir) + std::string(name))) return true;
  }
  return false;
}

void require_program(const std::filesystem::path& root, std::string_view program, std::string_view package) {
  if (has_program(root, program)) return;
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "Failed to make the initramfs: '" + std::string(program) + "' is not in the image")
      .with_hint("add the package '" + std::string(package) + "' to the template's packages");
}

// "usb-common" and "usb_common" name the same module.
std::string module_key(std::string_view name) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// "usbcore" from ".../usbcore.ko", ".ko.xz", ".ko.zst" or ".ko.gz".
std::optional<std::string> module_name_of(const std::string& file_name) {
  const auto at = file_name.find(".ko");
  if (at == std::string::npos || at == 0) return std::nullopt;
  const std::string_view rest = std::string_view(file_name).substr(at);
  if (rest != ".ko" && rest != ".ko.xz" && rest != ".ko.zst" && rest != ".ko.gz") return std::nullopt;
  return file_name.substr(0, at);
}

// Every module of the kernel, loadable (a file under its modules directory)
// or built in (modules.builtin), by module_key.
std::set<std::string> kernel_modules(const std::filesystem::path& root, const KernelInfo& kernel) {
  std::set<std::string> modules;
  for (const char* base : {"usr/lib/modules/", "lib/modules/"}) {
    const std::string dir = base + kernel.version;
    if (!exists_in_root(root, dir)) continue;
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(root / dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (auto name = module_name_of(it->path().filename().string())) modules.insert(module_key(*name));
    }
    std::istringstream builtin(read_file_in_root(root, dir + "/modules.builtin").value_or(""));
    for (std::string line; std::getline(builtin, line);) {
      if (auto name = module_name_of(std::filesystem::path(line).filename().string())) modules.insert(module_key(*name));
    }
    break;
  }
  return modules;
}

// kernel.enableExtraModules names modules of this kernel: one it does not
// have is an error, never left out in silence.
void check_extra_modules(const std::filesystem::path& root, const KernelInfo& kernel,
                         const std::vector<std::string>& extra_modules) {
  if (extra_modules.empty()) return;
  const std::set<std::string> modules = kernel_modules(root, kernel);
  for (const std::string& name : extra_modules) {
    base::require(!name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return std::isalnum(c) != 0 || c == '_' || c == '-';
                  }),
                 "Invalid kernel.enableExtraModules entry '" + name + "': a module name is letters, digits, - and _");
    base::require(modules.contains(module_key(name)), "Failed to add kernel module '" + name +
                                                          "' (kernel.enableExtraModules) to the initramfs: kernel " +
                                                          kernel.version + " of the image has no such module");
  }
}

// initramfs-tools takes the modules it must include from /etc/initramfs-tools/modules.
void list_modules_for_initramfs_tools(const std::filesystem::path& root, const std::vector<std::string>& extra_modules) {
  if (extra_modules.empty()) return;
  constexpr std::string_view kModulesFile = "etc/initramfs-tools/modules";
  std::string text = read_file_in_root(root, kModulesFile).value_or("");
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += "# kernel.enableExtraModules of the image template\n";
  for (const std::string& name : extra_modules) text += name + "\n";
  write_file_in_root(root, kModulesFile, text, 0644);
}

// A dm-verity root is opened in the initramfs by systemd-veritysetup, from
// the roothash= and systemd.verity_root_* arguments the UKI carries: dracut
// (059, Debian 12) has it as a module pulling in systemd and dm;
// initramfs-tools runs no systemd and has no such hook.
void check_verity_initramfs(const std::filesystem::path& root, std::string_view tool) {
  const std::string what = "Failed to make the initramfs for the dm-verity root (systemConfig.immutability.enabled)";
  if (tool == "initramfs-tools") {
    throw base::Error(base::ErrorKind::kInvalidInput,
                      what + ": a dm-verity root needs dracut in the image: add the package dracut to "
                             "systemConfig.packages (initramfs-tools runs no systemd-veritysetup)");
  }
  base::require(tool == "dracut", what + ": the image has no initramfs (initramfs tool '" + std::string(tool) +
                                      "') to open the root with; a dm-verity root needs dracut: add the package "
                                      "dracut to systemConfig.packages");
  require_program(root, "dracut", "dracut");
  const std::string module = "usr/lib/dracut/modules.d/01" + std::string(kDracutVerityModule) + "/module-setup.sh";
  if (!exists_in_root(root, module)) {
    throw base::Error(base::ErrorKind::kInvalidInput, what + ": the image's dracut has no " +
                                                          std::string(kDracutVerityModule) + " module ('/" + module +
                                                          "'); it needs dracut 059 or later");
  }
  bool veritysetup = false;
  for (const char* dir : {"usr/lib/systemd/", "lib/systemd/"}) {
    veritysetup = veritysetup || exists_in_root(root, std::string(dir) + "systemd-veritysetup");
  }
  if (!veritysetup) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                      what + ": '/usr/lib/systemd/systemd-veritysetup' is not in the image")
        .with_hint("add the package that ships it to systemConfig.packages (systemd on Debian 12, "
                   "systemd-cryptsetup on later releases)");
  }
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

}  // namespace

bool kernel_version_less(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      const std::size_t si = i, sj = j;
      while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
      while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
      std::string_view na = a.substr(si, i - si), nb = b.substr(sj, j - sj);
      while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

std::string initrd_path(std::string_view initrd_file_name, std::string_view version) {
  constexpr std::string_view kVersion = "{kver}";
  const std::size_t at = initrd_file_name.find(kVersion);
  const bool once = at != std::string_view::npos && initrd_file_name.find(kVersion, at + 1) == std::string_view::npos;
  const bool plain = initrd_file_name.find('/') == std::string_view::npos;
  base::require(once && plain, "Failed to decode installer request: initrdFileName '" + std::string(initrd_file_name) +
                                  "' must be a file name holding {kver} once (provider config.yml)");
  std::string name(initrd_file_name);
  name.replace(at, kVersion.size(), version);
  return "boot/" + name;
}

std::optional<KernelInfo> find_kernel(const std::filesystem::path& root, std::string_view initrd_file_name) {
  std::error_code ec;
  std::filesystem::directory_iterator it(root / "boot", ec);
  if (ec) return std::nullopt;
  std::optional<std::string> newest;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kKernelPrefix) || name.size() == kKernelPrefix.size()) continue;
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
    const std::string version = name.substr(kKernelPrefix.size());
    if (!newest || kernel_version_less(*newest, version)) newest = version;
  }
  if (!newest) return std::nullopt;
  return KernelInfo{*newest, "boot/vmlinuz-" + *newest, initrd_path(initrd_file_name, *newest)};
}

void make_initramfs(const std::filesystem::path& root, const KernelInfo& kernel, std::string_view tool,
                    const InitramfsContents& contents) {
  make_initramfs(root, kernel, tool, contents, make_chroot_runner(root));
}

void make_initramfs(const std::filesystem::path& root, const KernelInfo& kernel, std::string_view tool,
                    const InitramfsContents& contents, const CommandRunner& run) {
  base::ErrorContext ctx{"making the initramfs for kernel", kernel.version};
  const std::vector<std::string>& extra_modules = contents.extra_modules;
  check_extra_modules(root, kernel, extra_modules);
  if (contents.verity_root) check_verity_initramfs(root, tool);
  // No initramfs: an initrd image, whose tree (every module in it) is itself the initramfs.
  if (tool.empty() || tool == "none") return;
  ChrootCommand command{.timeout = kInitramfsTimeout};
  if (tool == "initramfs-tools") {
    require_program(root, "update-initramfs", "initramfs-tools");
    list_modules_for_initramfs_tools(root, extra_modules);
    // -u only updates an existing image; -c refuses to overwrite one.
    const bool exists = exists_in_root(root, kernel.initrd_path);
    command.argv = {"update-initramfs", exists ? "-u" : "-c", "-k", kernel.version};
  } else if (tool == "dracut") {
    require_program(root, "dracut", "dracut");
    // --reproducible: entries sorted, times clamped to SOURCE_DATE_EPOCH
    // (the chroot's environment carries the build time).
    command.argv = {"dracut", "--force", "--no-hostonly", "--reproducible"};
    if (!extra_modules.empty()) command.argv.insert(command.argv.end(), {"--add-drivers", joined(extra_modules)});
    if (contents.verity_root) command.argv.insert(command.argv.end(), {"--add", std::string(kDracutVerityModule)});
    command.argv.insert(command.argv.end(), {"--kver", kernel.version, "/" + kernel.initrd_path});
  } else {
    base::fail(base::ErrorKind::kInvalidInput, "Unknown initramfs tool '" + std::string(tool) +
                                                 "': use initramfs-tools, dracut or none");
  }
  run(command, "Failed to make the initramfs with " + std::string(tool));
  base::check(exists_in_root(root, kernel.initrd_path),
             "Failed to make the initramfs: " + std::string(tool) + " did not write '/" + kernel.initrd_path + "'");
}

}  // namespace stage::installer
