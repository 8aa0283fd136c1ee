#include "tests/image/image_copies.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/error.hpp"

namespace tests::image {
namespace fs = std::filesystem;

namespace {

RunResult run_checked(const std::vector<std::string>& argv, const fs::path& scratch, const std::string& what) {
  RunResult r = run_tool(argv, scratch);
  base::require(r.exit_code == 0, "Failed to " + what + ": " + argv[0] + " exit " + std::to_string(r.exit_code) +
                                      ": " + r.err);
  return r;
}

std::string trim(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

void sparse_copy(const fs::path& from, const fs::path& to, const fs::path& scratch) {
  run_checked({"cp", "--sparse=always", from.string(), to.string()}, scratch,
              "copy '" + from.string() + "' to '" + to.string() + "'");
}

void extract_partition(const fs::path& disk, std::uint64_t offset, std::uint64_t size, const fs::path& out,
                       const fs::path& scratch) {
  run_checked({"dd", "if=" + disk.string(), "of=" + out.string(), "bs=1M", "skip=" + std::to_string(offset),
               "count=" + std::to_string(size), "iflag=skip_bytes,count_bytes", "conv=sparse", "status=none"},
              scratch, "cut bytes " + std::to_string(offset) + "+" + std::to_string(size) + " of '" + disk.string() + "'");
  base::require(fs::file_size(out) == size, "Failed to cut a partition of '" + disk.string() + "': '" + out.string() +
                                                "' holds " + std::to_string(fs::file_size(out)) + " bytes, not " +
                                                std::to_string(size));
}

void write_partition(const fs::path& part, const fs::path& disk, std::uint64_t offset, const fs::path& scratch) {
  const std::uint64_t disk_size = fs::file_size(disk);
  run_checked({"dd", "if=" + part.string(), "of=" + disk.string(), "bs=1M", "seek=" + std::to_string(offset),
               "oflag=seek_bytes", "conv=sparse,notrunc", "status=none"},
              scratch, "write '" + part.string() + "' into '" + disk.string() + "' at byte " + std::to_string(offset));
  base::require(fs::file_size(disk) == disk_size, "Failed to write a partition into '" + disk.string() +
                                                      "': its size changed");
}

void replace_ext4_file(const fs::path& fs_image, const std::string& path, const std::string& content,
                       std::uint32_t mode, const fs::path& scratch) {
  fs::create_directories(scratch);
  const fs::path source = scratch / "replacement";
  std::ofstream(source, std::ios::binary | std::ios::trunc) << content;
  std::ostringstream mode_text;
  mode_text << "0" << std::oct << mode;
  const fs::path script = scratch / "debugfs-w.cmds";
  std::ofstream(script, std::ios::trunc) << "rm \"" << path << "\"\n"
                                         << "write \"" << source.string() << "\" \"" << path << "\"\n"
                                         << "set_inode_field \"" << path << "\" mode " << mode_text.str() << "\n"
                                         << "set_inode_field \"" << path << "\" uid 0\n"
                                         << "set_inode_field \"" << path << "\" gid 0\n";
  const RunResult r = run_checked({"debugfs", "-w", "-f", script.string(), fs_image.string()}, scratch,
                                  "replace " + path + " in '" + fs_image.string() + "'");
  // debugfs -f reports a failing command on stderr and still exits 0.
  for (const char* failure : {"not found", "Could not", "error", "Error"}) {
    base::require(r.err.find(failure) == std::string::npos,
                  "Failed to replace " + path + " in '" + fs_image.string() + "': debugfs says " + r.err);
  }
}

std::map<std::string, std::string> blkid_of(const fs::path& fs_image, const fs::path& scratch) {
  const RunResult r = run_checked({"blkid", "-p", "-o", "export", fs_image.string()}, scratch,
                                  "probe '" + fs_image.string() + "'");
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const std::size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::map<std::string, std::string> ext4_superblock(const fs::path& fs_image, const fs::path& scratch) {
  const RunResult r = run_checked({"debugfs", "-R", "stats", fs_image.string()}, scratch,
                                  "read the superblock of '" + fs_image.string() + "'");
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) out.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return out;
}

std::map<std::string, std::string> fat_boot_sector(const fs::path& fs_image, const fs::path& scratch) {
  const RunResult r = run_checked({"minfo", "-i", fs_image.string(), "::"}, scratch,
                                  "read the boot sector of '" + fs_image.string() + "'");
  std::map<std::string, std::string> out;
  std::istringstream in(r.out.substr(std::min(r.out.size(), r.out.find("bootsector information"))));
  for (std::string line; std::getline(in, line);) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream value(line.substr(colon + 1));
    std::string first;
    value >> first;  // "512 bytes", "262143 sectors": the number
    out.emplace(trim(line.substr(0, colon)), first);
  }
  return out;
}

std::map<std::string, DpkgPackage> dpkg_installed(const std::string& status, const fs::path& scratch) {
  const fs::path admin = scratch / "dpkg-admin";
  fs::create_directories(admin / "info");
  fs::create_directories(admin / "updates");
  std::ofstream(admin / "status", std::ios::binary | std::ios::trunc) << status;
  const RunResult r = run_checked({"dpkg-query", "--admindir=" + admin.string(), "-W", "-f",
                                   "${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\n"},
                                  scratch, "list the packages of a dpkg status copy");
  std::map<std::string, DpkgPackage> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name, version, arch, state;
    std::getline(fields, name, '\t');
    std::getline(fields, version, '\t');
    std::getline(fields, arch, '\t');
    std::getline(fields, state, '\t');
    if (state == "installed") out[name] = {version, arch};
  }
  return out;
}

}  // namespace tests::image
