#include "stages/isomaker/iso_layout.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <set>

#include "base/error.hpp"
#include "stages/isomaker/tree_paths.hpp"

namespace stage::isomaker {
namespace {

constexpr std::uint64_t kMiB = 1ULL << 20;

// Paths the stage writes itself; extra files may not replace them.
constexpr std::array kReservedPaths = {"/images/vmlinuz", "/images/initrd.img", "/boot/grub", "/cache-repo"};

void check_iso_path(const std::string& path, std::set<std::string>& seen) {
  const std::string what = "extra file ISO path '" + path + "'";
  base::require(path.starts_with('/') && path.size() > 1 && !path.ends_with('/'),
                what + " must be an absolute file path");
  const std::string padded = path + "/";
  base::require(padded.find("/./") == std::string::npos && padded.find("/../") == std::string::npos &&
                    padded.find("//") == std::string::npos,
                what + " must not hold '.', '..' or empty components");
  for (const std::string reserved : kReservedPaths) {
    base::require(path != reserved && !path.starts_with(reserved + "/"),
                  what + " is written by the stage itself (" + reserved + ")");
  }
  base::require(seen.insert(path).second, what + " is given twice");
}

void require_one_line(const std::string& text, const std::string& what) {
  base::require(text.find_first_of("\n\r") == std::string::npos, what + " must be one line");
}

// GRUB's single quotes keep everything but the quote itself.
std::string grub_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string entry(const std::string& title, const std::string& cmdline) {
  return "menuentry " + grub_quoted(title) + " {\n  linux /images/vmlinuz" + (cmdline.empty() ? "" : " " + cmdline) +
         "\n  initrd /images/initrd.img\n}\n";
}

std::string utc_format(std::int64_t epoch, const char* format) {
  const std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  base::check(::gmtime_r(&t, &tm) != nullptr, "time " + std::to_string(epoch) + " is out of range");
  std::array<char, 64> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), format, &tm);
  return std::string(text.data(), n);
}

}  // namespace

void check_iso_spec(const IsoSpec& spec) {
  require_file_name(spec.output_name, "the ISO's outputName");
  base::require(!spec.volume_id.empty() && spec.volume_id.size() <= 32 &&
                    std::all_of(spec.volume_id.begin(), spec.volume_id.end(),
                                [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }),
                "volumeId '" + spec.volume_id + "' must be 1 to 32 characters of A-Z, 0-9 and _");
  std::set<std::string> seen;
  for (const auto& extra : spec.extra_files) check_iso_path(extra.iso_path, seen);
  require_one_line(spec.menu.title, "the menu title");
  require_one_line(spec.menu.cmdline, "the live kernel command line");
  base::require(!spec.menu.title.empty(), "the menu title is empty");
  base::require(spec.package_family != PackageFamily::kNone || spec.packages.empty(),
                "packages are given without a package family (deb or rpm)");
}

void check_loader_spec(const LoaderSpec& spec) {
  require_file_name(spec.output_name, "the loader's outputName");
  require_one_line(spec.menu.title, "the menu title");
  require_one_line(spec.menu.cmdline, "the live kernel command line");
  base::require(!spec.menu.title.empty(), "the menu title is empty");
  base::require(spec.sbat.starts_with("sbat,"), "GRUB's SBAT must be a CSV starting with the 'sbat,' line");
}

EfiPlatform efi_platform(const std::string& modules_dir) {
  const std::string platform = modules_dir.substr(modules_dir.find_last_of('/') + 1);
  if (platform == "x86_64-efi") return {platform, "BOOTX64.EFI"};
  if (platform == "arm64-efi") return {platform, "BOOTAA64.EFI"};
  base::fail(base::ErrorKind::kInvalidInput, "the GRUB EFI modules directory '" + modules_dir +
                                                 "' is not one of .../x86_64-efi or .../arm64-efi");
}

std::string grub_cfg(const MenuSpec& menu) {
  std::string cfg = "set default=0\nset timeout=" + std::to_string(menu.timeout_seconds) + "\n";
  cfg += "if serial --unit=0 --speed=115200; then\n  terminal_input --append serial\n"
         "  terminal_output --append serial\nfi\n\n";
  cfg += entry(menu.title, menu.cmdline);
  const std::string debug_cmdline = menu.cmdline.empty() ? "rdinit=/bin/sh" : menu.cmdline + " rdinit=/bin/sh";
  cfg += entry(menu.title + " (Debug shell)", debug_cmdline);
  cfg += "if [ \"$grub_platform\" = \"efi\" ]; then\n"
         "  menuentry 'Boot from local disk' {\n    exit\n  }\n"
         "else\n"
         "  menuentry 'Boot from local disk' {\n    chainloader (hd0)+1\n  }\n"
         "fi\n";
  return cfg;
}

std::string early_grub_cfg() {
  return "search --no-floppy --set=root --file /images/vmlinuz\n"
         "set prefix=($root)/boot/grub\n"
         "configfile ($root)/boot/grub/grub.cfg\n";
}

std::string secure_boot_grub_cfg(const MenuSpec& menu) {
  return "search --no-floppy --set=root --file /images/vmlinuz\n" + grub_cfg(menu);
}

std::vector<std::string> embedded_modules(const std::vector<std::string>& wanted,
                                          const std::vector<std::string>& required,
                                          const std::vector<std::string>& present, const std::string& modules_dir) {
  const auto has = [&](const std::string& m) { return std::find(present.begin(), present.end(), m) != present.end(); };
  for (const auto& m : required) {
    base::require(has(m), "the GRUB modules directory '" + modules_dir + "' has no " + m + ".mod");
  }
  std::vector<std::string> out;
  for (const auto& m : wanted) {
    if (has(m)) out.push_back(m);
  }
  return out;
}

std::vector<std::string> efi_modules_wanted() {
  return {"part_gpt", "part_msdos", "fat",    "iso9660", "search", "search_fs_file", "configfile", "normal",
          "linux",    "echo",       "test",   "ls",      "cat",    "sleep",          "reboot",     "halt",
          "serial",   "terminal",   "efi_gop", "all_video"};
}
std::vector<std::string> efi_modules_required() {
  return {"iso9660", "search_fs_file", "configfile", "normal", "linux"};
}
std::vector<std::string> secure_boot_modules_wanted() {
  std::vector<std::string> wanted = secure_boot_modules_required();
  wanted.insert(wanted.end(), {"linuxefi", "efi_gop", "ls", "cat"});
  return wanted;
}
std::vector<std::string> secure_boot_modules_required() {
  return {"part_gpt", "part_msdos", "fat",   "iso9660", "search", "search_fs_file", "normal", "linux",
          "echo",     "test",       "serial", "terminal", "sleep", "reboot",         "halt",   "gzio",
          "all_video", "memdisk",   "tar"};
}
std::vector<std::string> bios_modules_wanted() {
  return {"biosdisk", "part_msdos", "part_gpt", "iso9660", "search", "search_fs_file", "configfile", "normal",
          "linux",    "echo",       "test",     "ls",      "cat",    "sleep",          "reboot",     "halt",
          "serial",   "terminal",   "chain"};
}
std::vector<std::string> bios_modules_required() {
  return {"biosdisk", "iso9660", "search_fs_file", "configfile", "normal", "linux", "chain"};
}

std::vector<std::string> mkimage_argv(const MkimageCall& call) {
  std::vector<std::string> argv = {call.loader, "--inhibit-cache", "--library-path", call.library_path,
                                   call.mkimage, "-d", call.modules_dir, "-O", call.format, "-o", call.output,
                                   "-p", call.memdisk.empty() ? "/boot/grub" : "(memdisk)/boot/grub"};
  if (!call.config.empty()) argv.insert(argv.end(), {"-c", call.config});
  if (!call.memdisk.empty()) argv.insert(argv.end(), {"-m", call.memdisk});
  if (!call.sbat.empty()) argv.insert(argv.end(), {"--sbat", call.sbat});
  argv.insert(argv.end(), call.modules.begin(), call.modules.end());
  return argv;
}

std::uint64_t efi_image_size(std::uint64_t boot_files_size) {
  return (boot_files_size + kMiB + kMiB - 1) / kMiB * kMiB;
}

std::vector<std::vector<std::string>> efi_image_commands(const std::string& image, std::uint64_t image_size,
                                                         const std::vector<EfiFile>& files) {
  std::vector<std::vector<std::string>> commands = {
      // 64 heads x 32 sectors: one MiB per cylinder; a fixed serial number.
      {"mformat", "-i", image, "-T", std::to_string(image_size / 512), "-h", "64", "-s", "32", "-N", "15015150", "-v",
       "EFIBOOT", "::"},
      {"mmd", "-i", image, "::/EFI", "::/EFI/BOOT"},
  };
  for (const EfiFile& file : files) commands.push_back({"mcopy", "-i", image, file.source, "::/EFI/BOOT/" + file.name});
  return commands;
}

std::string graft_pathspec(const Graft& graft) {
  const auto escape = [](const std::string& path) {
    std::string out;
    for (char c : path) {
      if (c == '=' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  return escape(graft.iso_path) + "=" + escape(graft.source);
}

std::string iso_timestamp(std::int64_t epoch) { return utc_format(epoch, "%Y%m%d%H%M%S") + "00"; }

std::string rfc1123_date(std::int64_t epoch) { return utc_format(epoch, "%a, %d %b %Y %H:%M:%S +0000"); }

std::vector<std::string> xorriso_argv(const XorrisoCall& call) {
  const std::string stamp = iso_timestamp(call.time);
  std::vector<std::string> argv = {"xorriso", "-follow", "param", "-as", "mkisofs", "-o", call.output,
                                   "-graft-points", "-r", "-J",
                                   "-joliet-long", "-l", "-volid", call.volume_id,
                                   "--modification-date=" + stamp, "--set_all_file_dates", stamp};
  if (!call.bios_image.empty()) {
    argv.insert(argv.end(), {"-b", call.bios_image.substr(1), "-no-emul-boot", "-boot-load-size", "4",
                             "-boot-info-table", "--grub2-boot-info", "--grub2-mbr", call.bios_mbr,
                             "-eltorito-alt-boot"});
  }
  argv.insert(argv.end(), {"-e", call.efi_image.substr(1), "-no-emul-boot", "-append_partition", "2", "0xef",
                           call.efi_image_source, "-appended_part_as_gpt", "--protective-msdos-label"});
  for (const auto& graft : call.grafts) argv.push_back(graft_pathspec(graft));
  return argv;
}

}  // namespace stage::isomaker
