#include "stages/inspector/image_reader.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/error.hpp"
#include "stages/inspector/file_manifest.hpp"
#include "stages/inspector/iso_reader.hpp"
#include "stages/inspector/program.hpp"
#include "stages/inspector/rpmdb.hpp"

namespace stage::inspector {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

bool is_boot_config(const std::string& path) {
  const std::string p = lower(path);
  return ends_with(p, "/grub.cfg") || p == "/loader/loader.conf" ||
         (p.rfind("/loader/entries/", 0) == 0 && ends_with(p, ".conf"));
}

void add_config(Report& report, std::uint32_t partition, const std::string& path, std::string text) {
  base::require(report.boot_configs.size() < kMaxBootConfigs,
                "Failed to read the boot configuration: more than " + std::to_string(kMaxBootConfigs) + " files");
  for (KernelEntry& entry : parse_kernel_entries(text, path)) report.kernel_entries.push_back(std::move(entry));
  report.boot_configs.push_back({partition, path, std::move(text)});
}

namespace {

constexpr std::size_t kMaxToolOutput = 4 << 20;  // sfdisk, blkid, debugfs stat
constexpr int kMaxLinks = 40;

// debugfs splits a request on blanks and reads quotes: a path with a quote,
// a control character or no leading '/' cannot be named safely.
void require_nameable(const std::string& path, const std::string& where) {
  const bool bad = path.empty() || path.front() != '/' || path.size() > 4096 ||
                   std::any_of(path.begin(), path.end(), [](char c) {
                     return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                   });
  if (bad) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read '" + path + "' in " + where +
                                                   ": the name holds a quote, backslash or control character, "
                                                   "or is not absolute");
  }
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::uint64_t image_size(int fd, const std::string& name) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "stat the image", name);
  base::require(S_ISREG(st.st_mode), "Failed to inspect '" + name + "': it is not a regular file");
  return static_cast<std::uint64_t>(st.st_size);
}

// sfdisk falls back to the MBR when the GPT behind a protective MBR is
// broken (a truncated image, a corrupted header): a "dos" table whose
// partition is of type ee. Reporting that would hide the GPT.
void require_no_bare_protective_mbr(const SfdiskTable& table, const base::ChildOutcome& run, const std::string& name) {
  const bool protective = table.table.label == "dos" && std::any_of(table.partitions.begin(), table.partitions.end(),
                                                                    [](const Partition& p) { return p.type_guid == "EE"; });
  if (!protective) return;
  std::string why = run.err;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  base::fail(base::ErrorKind::kInvalidInput, "Failed to read the GPT of '" + name +
                                                 "': sfdisk found only its protective MBR (partition type ee)" +
                                                 (why.empty() ? std::string() : ": " + why));
}

SfdiskTable read_table(int fd, const std::string& name) {
  const base::ChildOutcome run =
      run_program({find_program("sfdisk", "fdisk").string(), "--json", std::string(kImagePath)}, fd, kMaxToolOutput);
  if (!run.ok() || run.out.find("\"partitiontable\"") == std::string::npos) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                      "Failed to read a partition table in '" + name + "': sfdisk " + failure_text(run))
        .with_hint("inspect reads raw and qcow2 disk images with a GPT or MBR partition table and ISO 9660 "
                   "media; a bare file system, a vhd or vmdk image is not supported yet (docs/cli.md)");
  }
  SfdiskTable table = [&] {
    base::ErrorContext context{"reading the partition table of", name};
    return parse_sfdisk_json(run.out);
  }();
  require_no_bare_protective_mbr(table, run, name);
  return table;
}

void require_inside(const Partition& part, std::uint32_t sector, std::uint64_t size, const std::string& name) {
  const std::uint64_t end = (part.last_lba + 1) * sector;
  if (part.first_lba > part.last_lba || end > size) {
    base::fail(base::ErrorKind::kInvalidInput,
               "Failed to inspect '" + name + "': partition " + std::to_string(part.index) + " (LBA " +
                   std::to_string(part.first_lba) + "-" + std::to_string(part.last_lba) + ") ends at byte " +
                   std::to_string(end) + ", past the image's end (" + std::to_string(size) + " bytes)");
  }
}

void probe_fs(int fd, Partition& part, std::uint32_t sector, const std::string& name) {
  const std::uint64_t offset = part.first_lba * sector;
  const base::ChildOutcome run = run_program({find_program("blkid", "util-linux").string(), "-p", "-O", std::to_string(offset),
                                      "-S", std::to_string(part.size_bytes), "-o", "export",
                                      std::string(kImagePath)},
                                     fd, kMaxToolOutput);
  if (run.exit_code == 2 && !run.truncated) return;  // nothing recognised
  if (!run.ok()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to probe the file system of partition " +
                                                   std::to_string(part.index) + " of '" + name + "': blkid " +
                                                   failure_text(run));
  }
  for (const auto& [key, value] : parse_key_values(run.out)) {
    if (key == "TYPE") part.fs_type = value;
    if (key == "LABEL") part.fs_label = value;
    if (key == "UUID") part.fs_uuid = value;
  }
}

// The size the FAT boot sector gives its file system; 0 when it gives none.
std::uint64_t fat_size(int fd, const Partition& part, std::uint32_t sector, const std::string& name) {
  std::string boot(512, '\0');
  const ssize_t n = ::pread(fd, boot.data(), boot.size(), static_cast<off_t>(part.first_lba * sector));
  base::check_syscall(n < 0 ? -1 : 0, "read the FAT boot sector of partition " + std::to_string(part.index) + " of",
                      name);
  boot.resize(static_cast<std::size_t>(n));
  return parse_fat_size(boot).value_or(0);
}

bool is_ext(const Partition& part) {
  return part.fs_type == "ext2" || part.fs_type == "ext3" || part.fs_type == "ext4";
}

std::string where_of(const Partition& part, const std::string& name) {
  return "partition " + std::to_string(part.index) + " of '" + name + "'";
}

constexpr std::uint64_t kMaxRpmdbBytes = 256ULL << 20;  // a full distribution's is ~100 MB

// The packages of rpm's database: /var/lib/rpm (azl3, emt3) or
// /usr/lib/sysimage/rpm (newer Fedora-like systems); nullopt when neither holds one.
std::optional<std::vector<Package>> read_rpm_packages(const ExtFiles& files, const std::string& where) {
  for (const std::string dir : {"/var/lib/rpm", "/usr/lib/sysimage/rpm"}) {
    const std::string db = dir + "/rpmdb.sqlite";
    if (auto wal = files.stat(db + "-wal"); wal && wal->size > 0) {
      throw base::Error(base::ErrorKind::kUnimplemented,
                        "Failed to list the packages of " + where + ": '" + db + "' has a write-ahead log ('" + db +
                            "-wal') that was never merged, and inspect reads only the database file");
    }
    if (auto bytes = files.read(db, kMaxRpmdbBytes)) return read_rpmdb_sqlite(std::move(*bytes), "'" + db + "' in " + where);
    if (files.stat(dir + "/Packages") || files.stat(dir + "/Packages.db")) {
      throw base::Error(base::ErrorKind::kUnimplemented,
                        "Failed to list the packages of " + where + ": its rpm database in " + dir +
                            " is Berkeley DB or NDB, and inspect reads only rpm's SQLite database (rpmdb.sqlite)");
    }
  }
  return std::nullopt;
}

void read_root(const ExtFiles& files, const std::string& where, Report& report) {
  if (auto text = files.read("/etc/os-release", 1 << 20)) {
    report.os_release = parse_os_release(*text, "/etc/os-release in " + where);
  } else if (auto usr = files.read("/usr/lib/os-release", 1 << 20)) {
    report.os_release = parse_os_release(*usr, "/usr/lib/os-release in " + where);
  }
  // An RPM system may carry dpkg's database too (dpkg installed as a tool,
  // or packages repackaged from Debian): a non-empty rpm database decides.
  std::optional<std::vector<Package>> rpm = read_rpm_packages(files, where);
  if (rpm && !rpm->empty()) {
    report.packages = std::move(*rpm);
  } else if (auto status = files.read("/var/lib/dpkg/status")) {
    report.packages = parse_dpkg_status(*status, "/var/lib/dpkg/status in " + where);
  }
  if (auto passwd = files.read("/etc/passwd", 16 << 20)) report.users = parse_passwd(*passwd, "/etc/passwd in " + where);
  if (auto group = files.read("/etc/group", 16 << 20)) report.groups = parse_group(*group, "/etc/group in " + where);
}

constexpr std::size_t kMaxUkiBytes = 512 << 20;  // a kernel and its whole initrd
constexpr std::size_t kMaxUkis = 16;

bool is_uki(const std::string& path) {
  const std::string p = lower(path);
  return p.rfind("/efi/linux/", 0) == 0 && ends_with(p, ".efi") && p.find('/', 11) == std::string::npos;
}

void add_uki(Report& report, std::uint32_t partition, const std::string& path, const std::string& bytes,
             const std::string& where) {
  base::require(report.ukis.size() < kMaxUkis, "Failed to read the UKIs of " + where + ": more than " +
                                                   std::to_string(kMaxUkis));
  Uki uki{partition, path, {}, {}, {}};
  parse_uki(bytes, path + " in " + where, uki);
  report.kernel_entries.push_back(uki_kernel_entry(uki));
  report.ukis.push_back(std::move(uki));
}

void read_esp(int fd, const Partition& part, std::uint32_t sector, const std::string& name, Report& report) {
  const FatFiles files(fd, part.first_lba * sector, where_of(part, name));
  for (const std::string& path : files.list()) {
    if (path.empty() || path.back() == '/') continue;
    if (lower(path).rfind("/efi/", 0) == 0) report.boot_files.push_back({part.index, path});
    if (is_boot_config(path)) add_config(report, part.index, path, files.read(path));
    if (is_uki(path)) add_uki(report, part.index, path, files.read(path, kMaxUkiBytes), where_of(part, name));
  }
}

// The build writes its SPDX document to /usr/share/sbom/ (docs/image-build.md).
void read_sbom(const ExtFiles& files, const std::string& where, bool extract, Report& report) {
  std::vector<std::string> found;
  for (const std::string& name : files.regular_files("/usr/share/sbom")) {
    if (ends_with(name, ".json")) found.push_back("/usr/share/sbom/" + name);
  }
  if (found.empty()) return;
  if (found.size() > 1) {
    std::string names;
    for (const std::string& f : found) names += (names.empty() ? "" : ", ") + f;
    base::fail(base::ErrorKind::kInvalidInput, "Failed to find the SBOM of " + where + ": /usr/share/sbom holds " +
                                                   std::to_string(found.size()) + " JSON files (" + names + ")");
  }
  report.sbom_path = found.front();
  if (extract) report.sbom = files.read(report.sbom_path, kMaxSbomBytes).value_or("");
}

void read_boot(int fd, const std::string& name, Report& report) {
  for (const Partition& part : report.partitions) {
    if (part.fs_type == "vfat") read_esp(fd, part, report.table.sector_size, name, report);
  }
  for (const Partition& part : report.partitions) {
    if (part.index != report.root_partition) continue;
    const ExtFiles files(fd, part.first_lba * report.table.sector_size, where_of(part, name));
    if (auto grub = files.read("/boot/grub/grub.cfg", kMaxConfigBytes)) add_config(report, part.index, "/boot/grub/grub.cfg", *grub);
  }
}

void list_files(int fd, const std::string& name, Report& report) {
  ManifestBudget budget;
  for (const Partition& part : report.partitions) {
    const std::uint64_t offset = part.first_lba * report.table.sector_size;
    if (is_ext(part)) list_ext_files(fd, offset, part.index, where_of(part, name), budget, report.files);
    if (part.fs_type == "vfat") {
      list_fat_files(FatFiles(fd, offset, where_of(part, name)), part.index, where_of(part, name), budget, report.files);
    }
  }
}

}  // namespace

FatFiles::FatFiles(int image_fd, std::uint64_t offset, std::string where)
    : fd_(image_fd), offset_(offset), where_(std::move(where)) {}

std::string FatFiles::drive() const { return std::string(kImagePath) + "@@" + std::to_string(offset_); }

std::vector<std::string> FatFiles::list() const {
  const base::ChildOutcome run =
      run_program({find_program("mdir", "mtools").string(), "-/", "-b", "-a", "-i", drive(), "::/"}, fd_, kMaxToolOutput);
  const bool empty = run.exit_code == 1 && run.out.empty() && run.err.find("\"::/\" not found") != std::string::npos;
  if (empty) return {};  // mdir's word for a root directory without entries
  if (!run.ok()) base::fail(base::ErrorKind::kInvalidInput, "Failed to list " + where_ + ": mdir " + failure_text(run));
  std::vector<std::string> paths = parse_mdir(run.out);
  std::sort(paths.begin(), paths.end());  // FAT keeps creation order
  return paths;
}

std::string FatFiles::read(const std::string& path, std::size_t max_bytes) const {
  // mtools expands * and ? in names: such a name is not read.
  base::require(path.find_first_of("*?") == std::string::npos,
                "Failed to read '" + path + "' in " + where_ + ": its name holds a wildcard");
  const base::ChildOutcome run =
      run_program({find_program("mtype", "mtools").string(), "-i", drive(), "::" + path}, fd_, max_bytes);
  if (!run.ok()) {
    base::fail(base::ErrorKind::kInvalidInput,
               "Failed to read " + path + " in " + where_ + " (at most " + std::to_string(max_bytes) +
                   " bytes): mtype " + failure_text(run));
  }
  return run.out;
}

ExtFiles::ExtFiles(int image_fd, std::uint64_t offset, std::string where)
    : image_fd_(image_fd), offset_(offset), where_(std::move(where)) {}

std::string ExtFiles::debugfs(const std::string& request, std::uint64_t max_out) const {
  const base::ChildOutcome run = run_program({find_program("debugfs", "e2fsprogs").string(), "-R", request,
                                      image_at(offset_)},
                                     image_fd_, static_cast<std::size_t>(max_out));
  if (!run.ok()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + where_ + " with debugfs (" + request + "): " +
                                                   failure_text(run));
  }
  if (run.err.find("Bad magic number") != std::string::npos || run.err.find("Couldn't find valid") != std::string::npos) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to open the file system of " + where_ + ": " + run.err);
  }
  return run.out;
}

std::optional<DebugfsStat> ExtFiles::stat(const std::string& path) const {
  require_nameable(path, where_);
  const std::string out = debugfs("stat \"" + path + "\"", kMaxToolOutput);
  return parse_debugfs_stat(out);
}

std::vector<std::string> ExtFiles::regular_files(const std::string& path) const {
  require_nameable(path, where_);
  return parse_debugfs_regular_files(debugfs("ls -p \"" + path + "\"", kMaxToolOutput));
}

std::uint64_t ExtFiles::fs_size() const { return parse_debugfs_fs_size(debugfs("stats -h", kMaxToolOutput)).value_or(0); }

std::string ExtFiles::link_target(const std::string& path, const DebugfsStat& stat) const {
  if (stat.fast_link) return *stat.fast_link;
  base::require(stat.size <= 4096, "Failed to read the link " + path + " in " + where_ + ": its target is " +
                                       std::to_string(stat.size) + " bytes long");
  return debugfs("cat \"" + path + "\"", 4096);
}

std::optional<std::string> ExtFiles::read(const std::string& path, std::uint64_t max_bytes) const {
  std::string current = path;
  for (int links = 0; links <= kMaxLinks; ++links) {
    const std::optional<DebugfsStat> found = stat(current);
    if (!found) return std::nullopt;
    if (found->type == "symlink") {
      const std::string target = link_target(current, *found);
      current = !target.empty() && target.front() == '/' ? target : parent_of(current) + "/" + target;
      continue;
    }
    const std::string shown = current == path ? path : path + " (-> " + current + ")";
    base::require(found->type == "regular",
                  "Failed to read " + shown + " in " + where_ + ": it is a " + found->type + ", not a regular file");
    if (found->size > max_bytes) {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + shown + " in " + where_ + ": it holds " +
                                                     std::to_string(found->size) + " bytes, more than the " +
                                                     std::to_string(max_bytes) + " inspect reads");
    }
    std::string data = debugfs("cat \"" + current + "\"", max_bytes + 1);
    base::require(data.size() <= max_bytes, "Failed to read " + shown + " in " + where_ + ": more than " +
                                                std::to_string(max_bytes) + " bytes");
    return data;
  }
  base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + path + " in " + where_ + ": more than " +
                                                 std::to_string(kMaxLinks) + " symbolic links");
}

Report read_image(int image_fd, const std::string& name, const ReadProgress& progress, const ReadOptions& options) {
  const auto step = [&](const std::string& phase, const std::string& item) {
    if (progress.report) progress.report(phase, item);
  };
  const std::uint64_t size = image_size(image_fd, name);
  if (is_iso9660(image_fd)) return read_iso(image_fd, name, progress, options);
  step("partition table", name);
  SfdiskTable table = read_table(image_fd, name);
  Report report;
  report.table = table.table;
  for (Partition& part : table.partitions) {
    require_inside(part, table.table.sector_size, size, name);
    step("file systems", "partition " + std::to_string(part.index));
    probe_fs(image_fd, part, table.table.sector_size, name);
    if (is_ext(part)) {
      part.fs_size_bytes = ExtFiles(image_fd, part.first_lba * table.table.sector_size, where_of(part, name)).fs_size();
    }
    if (part.fs_type == "vfat") part.fs_size_bytes = fat_size(image_fd, part, table.table.sector_size, name);
  }
  report.partitions = std::move(table.partitions);
  for (const Partition& part : report.partitions) {
    if (!is_ext(part)) continue;
    const ExtFiles files(image_fd, part.first_lba * report.table.sector_size, where_of(part, name));
    const auto etc = files.stat("/etc");
    if (!etc || etc->type != "directory") continue;
    step("root file system", where_of(part, name));
    report.root_partition = part.index;
    read_root(files, where_of(part, name), report);
    read_sbom(files, where_of(part, name), options.extract_sbom, report);
    break;
  }
  step("boot", name);
  read_boot(image_fd, name, report);
  if (options.list_files) {
    step("files", name);
    list_files(image_fd, name, report);
  }
  return report;
}

}  // namespace stage::inspector
