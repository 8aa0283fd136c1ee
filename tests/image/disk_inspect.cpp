#include "tests/image/disk_inspect.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "stages/inspector/disk_text.hpp"

namespace tests::image {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::uint64_t to_u64(const std::string& text, int base = 10) {
  std::size_t used = 0;
  const unsigned long long value = std::stoull(text, &used, base);
  base::require(used == text.size() && !text.empty(), "Failed to parse number '" + text + "'");
  return value;
}

// The number after `key` on a debugfs stat line ("User:     0   Group:    42").
std::optional<std::uint64_t> field_after(const std::string& line, const std::string& key, int base = 10) {
  const std::size_t at = line.find(key);
  if (at == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(at + key.size()));
  std::string word;
  rest >> word;
  if (word.empty()) return std::nullopt;
  return to_u64(word, base);
}

std::uint32_t le32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

fs::path host_tool(std::string_view name) {
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/bin", "/sbin"}) {
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

RunResult run_tool(std::vector<std::string> argv, const fs::path& scratch, const fs::path& input) {
  base::check(!argv.empty(), "run_tool needs a program");
  const fs::path tool = host_tool(argv[0]);
  base::require(!tool.empty(), "Failed to find host tool '" + argv[0] + "' in /usr/bin or /usr/sbin");
  argv[0] = tool.string();
  // MTOOLS_SKIP_CHECK: mtools must not reject a partition for its geometry.
  return run_program(argv,
                     {{"PATH", "/usr/bin:/usr/sbin:/bin:/sbin"}, {"LC_ALL", "C"}, {"MTOOLS_SKIP_CHECK", "1"}},
                     scratch, input);
}

// stage-inspector's parser (stages/inspector/disk_text.hpp), in the shape these tests use.
std::vector<Partition> parse_sfdisk_json(const std::string& json) {
  const stage::inspector::SfdiskTable table = stage::inspector::parse_sfdisk_json(json);
  std::vector<Partition> out;
  for (const stage::inspector::Partition& p : table.partitions) {
    out.push_back({static_cast<int>(p.index), p.first_lba * table.table.sector_size, p.size_bytes, p.type_guid,
                   p.unique_guid, p.name});
  }
  return out;
}

std::vector<Partition> read_partition_table(const fs::path& disk, const fs::path& scratch) {
  const RunResult r = run_tool({"sfdisk", "--json", disk.string()}, scratch);
  base::require(r.exit_code == 0, "Failed to read the partition table of '" + disk.string() + "': " + r.err);
  return parse_sfdisk_json(r.out);
}

std::map<std::string, std::string> parse_key_values(const std::string& text) {
  std::map<std::string, std::string> out;
  for (auto& [key, value] : stage::inspector::parse_key_values(text)) out[key] = std::move(value);
  return out;
}

FsProbe probe_filesystem(const fs::path& disk, std::uint64_t offset, const fs::path& scratch) {
  const RunResult r =
      run_tool({"blkid", "-p", "-O", std::to_string(offset), "-o", "export", disk.string()}, scratch);
  base::require(r.exit_code == 0, "Failed to probe the file system at offset " + std::to_string(offset) +
                                     " of '" + disk.string() + "': exit " + std::to_string(r.exit_code) +
                                     " " + r.err);
  std::map<std::string, std::string> values = parse_key_values(r.out);
  return {values["TYPE"], values["UUID"], values["LABEL"]};
}

std::optional<InodeInfo> parse_debugfs_stat(const std::string& text) {
  InodeInfo info;
  bool have_mode = false;
  bool have_owner = false;
  for (const std::string& line : lines_of(text)) {
    if (line.rfind("Inode:", 0) == 0) {
      // "Mode:  0640" shows permissions only; the type is a word: regular, directory, symlink, ...
      const auto mode = field_after(line, "Mode:", 8);
      const std::size_t type_at = line.find("Type:");
      if (!mode || type_at == std::string::npos) continue;
      std::istringstream words(line.substr(type_at + 5));
      std::string type;
      words >> type;
      static const std::map<std::string, std::uint32_t> kTypes = {
          {"regular", 0100000}, {"directory", 0040000}, {"symlink", 0120000}, {"FIFO", 0010000},
          {"socket", 0140000},  {"character", 0020000}, {"block", 0060000}};
      const auto found = kTypes.find(type);
      info.mode = static_cast<std::uint32_t>(*mode) | (found != kTypes.end() ? found->second : 0);
      have_mode = true;
    } else if (line.rfind("User:", 0) == 0) {
      const auto uid = field_after(line, "User:");
      const auto gid = field_after(line, "Group:");
      const auto size = field_after(line, "Size:");
      if (!uid || !gid) continue;
      info.uid = static_cast<std::uint32_t>(*uid);
      info.gid = static_cast<std::uint32_t>(*gid);
      info.size = size.value_or(0);
      have_owner = true;
    }
  }
  if (!have_mode || !have_owner) return std::nullopt;
  return info;
}

std::map<std::string, std::map<std::string, ListedEntry>> parse_debugfs_listings(const std::string& text) {
  static const std::string kEcho = "debugfs: ls -p ";
  std::map<std::string, std::map<std::string, ListedEntry>> out;
  std::map<std::string, ListedEntry>* current = nullptr;
  for (const std::string& line : lines_of(text)) {
    if (line.rfind(kEcho, 0) == 0) {
      current = &out[line.substr(kEcho.size())];
      continue;
    }
    // "/INODE/MODE/UID/GID/NAME/SIZE/": a name cannot hold '/'.
    if (current == nullptr || line.size() < 2 || line.front() != '/' || line.back() != '/') continue;
    const std::vector<std::string> f = split(line.substr(1, line.size() - 2), '/');
    if (f.size() != 6) continue;
    // Unused slots (lost+found keeps some) show inode 0 and no name.
    if (f[4].empty() || f[4] == "." || f[4] == ".." || f[0] == "0") continue;
    ListedEntry entry;
    entry.inode = to_u64(f[0]);
    entry.info.mode = static_cast<std::uint32_t>(to_u64(f[1], 8));
    entry.info.uid = static_cast<std::uint32_t>(to_u64(f[2]));
    entry.info.gid = static_cast<std::uint32_t>(to_u64(f[3]));
    entry.info.size = f[5].empty() ? 0 : to_u64(f[5]);
    (*current)[f[4]] = entry;
  }
  return out;
}

Ext4Reader::Ext4Reader(fs::path disk, std::uint64_t offset, fs::path scratch)
    : disk_(std::move(disk)), offset_(offset), scratch_(std::move(scratch)) {
  fs::create_directories(scratch_);
}

std::string Ext4Reader::spec() const { return disk_.string() + "?offset=" + std::to_string(offset_); }

RunResult Ext4Reader::debugfs(const std::vector<std::string>& commands) const {
  const fs::path script = scratch_ / "debugfs.cmds";
  {
    std::ofstream out(script, std::ios::trunc);
    for (const std::string& c : commands) out << c << "\n";
  }
  RunResult r = run_tool({"debugfs", "-f", script.string(), spec()}, scratch_ / "run");
  base::require(r.exit_code == 0, "Failed to run debugfs on '" + spec() + "': " + r.err);
  return r;
}

namespace {
// debugfs splits commands on blanks; a quoted path keeps them together.
std::string quoted(const std::string& path) { return "\"" + path + "\""; }
bool not_found(const RunResult& r) {
  return r.err.find("not found") != std::string::npos || r.err.find("File not found") != std::string::npos;
}
}  // namespace

std::optional<InodeInfo> Ext4Reader::stat(const std::string& path) const {
  const RunResult r = debugfs({"stat " + quoted(path)});
  if (not_found(r)) return std::nullopt;
  return parse_debugfs_stat(r.out);
}

std::optional<std::string> Ext4Reader::read_file(const std::string& path) const {
  const fs::path out = scratch_ / "dump.out";
  fs::remove(out);
  const RunResult r = debugfs({"dump " + quoted(path) + " " + quoted(out.string())});
  if (not_found(r) || !fs::exists(out)) return std::nullopt;
  return read_text(out);
}

std::optional<std::string> Ext4Reader::xattr(const std::string& path, const std::string& name) const {
  const fs::path out = scratch_ / "xattr.out";
  fs::remove(out);
  const RunResult r = debugfs({"ea_get -f " + quoted(out.string()) + " " + quoted(path) + " " + name});
  if (not_found(r) || !fs::exists(out)) return std::nullopt;
  return read_text(out);
}

std::map<std::string, InodeInfo> Ext4Reader::list_tree() const {
  std::map<std::string, InodeInfo> tree;
  // Directories are named by inode ("<12>") so any name is safe to pass.
  std::vector<std::pair<std::string, std::string>> level = {{"<2>", ""}};  // spec, path
  while (!level.empty()) {
    std::vector<std::string> commands;
    std::map<std::string, std::string> path_of;
    for (const auto& [dir_spec, path] : level) {
      commands.push_back("ls -p " + dir_spec);
      path_of[dir_spec] = path;
    }
    const auto listings = parse_debugfs_listings(debugfs(commands).out);
    base::require(listings.size() == level.size(),
                 "Failed to list " + std::to_string(level.size()) + " directories of '" + spec() + "'");
    std::vector<std::pair<std::string, std::string>> next;
    for (const auto& [dir_spec, entries] : listings) {
      for (const auto& [name, entry] : entries) {
        const std::string path = path_of.at(dir_spec) + "/" + name;
        tree[path] = entry.info;
        if (entry.info.is_dir()) next.push_back({"<" + std::to_string(entry.inode) + ">", path});
      }
    }
    level = std::move(next);
  }
  return tree;
}

FatReader::FatReader(fs::path disk, std::uint64_t offset, fs::path scratch)
    : disk_(std::move(disk)), offset_(offset), scratch_(std::move(scratch)) {
  fs::create_directories(scratch_);
}

std::string FatReader::drive() const { return disk_.string() + "@@" + std::to_string(offset_); }

std::vector<std::string> FatReader::list_tree() const {
  const RunResult r = run_tool({"mdir", "-/", "-b", "-i", drive(), "::/"}, scratch_ / "run");
  base::require(r.exit_code == 0, "Failed to list the FAT file system '" + drive() + "': " + r.err);
  std::vector<std::string> paths;
  for (const std::string& line : lines_of(r.out)) {
    if (line.rfind("::", 0) == 0) paths.push_back(line.substr(2));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::optional<std::string> FatReader::read_file(const std::string& path) const {
  const fs::path out = scratch_ / "mcopy.out";
  fs::remove(out);
  const RunResult r = run_tool({"mcopy", "-n", "-i", drive(), "::" + path, out.string()}, scratch_ / "run");
  if (r.exit_code != 0 || !fs::exists(out)) return std::nullopt;
  return read_text(out);
}

std::optional<FileCaps> decode_file_caps(const std::string& value) {
  // struct vfs_ns_cap_data (linux/capability.h): magic_etc, then
  // {permitted, inheritable} for the low and high 32 bits, then rootid (v3).
  constexpr std::uint32_t kVersionMask = 0xFF000000;
  constexpr std::uint32_t kEffective = 0x000001;
  if (value.size() < 4) return std::nullopt;
  const std::uint32_t magic = le32(value, 0);
  FileCaps caps;
  switch (magic & kVersionMask) {
    case 0x02000000: caps.version = 2; if (value.size() != 20) return std::nullopt; break;
    case 0x03000000: caps.version = 3; if (value.size() != 24) return std::nullopt; break;
    default: return std::nullopt;
  }
  caps.effective = (magic & kEffective) != 0;
  caps.permitted = le32(value, 4) | (static_cast<std::uint64_t>(le32(value, 12)) << 32);
  caps.inheritable = le32(value, 8) | (static_cast<std::uint64_t>(le32(value, 16)) << 32);
  if (caps.version == 3) caps.rootid = le32(value, 20);
  return caps;
}

std::vector<FstabEntry> parse_fstab(const std::string& text) {
  std::vector<FstabEntry> out;
  for (const std::string& line : lines_of(text)) {
    std::istringstream words(line);
    FstabEntry e;
    if (!(words >> e.spec) || e.spec.front() == '#') continue;
    words >> e.mount_point >> e.type >> e.options;
    out.push_back(std::move(e));
  }
  return out;
}

std::map<std::string, std::vector<std::string>> parse_colon_file(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& line : lines_of(text)) {
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string> fields = split(line, ':');
    out[fields.front()] = std::move(fields);
  }
  return out;
}

std::map<std::string, std::string> parse_sha256sums(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const std::string& line : lines_of(text)) {
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    base::require(space == 64 && line.size() > 66, "Failed to parse SHA256SUMS line '" + line + "'");
    std::string name = line.substr(66);
    const char mode = line[65];
    base::require(mode == ' ' || mode == '*', "Failed to parse SHA256SUMS line '" + line + "'");
    out[name] = line.substr(0, 64);
  }
  return out;
}

std::string sha256_of(const fs::path& file, const fs::path& scratch) {
  const RunResult r = run_tool({"sha256sum", "--", file.string()}, scratch);
  base::require(r.exit_code == 0 && r.out.size() >= 64, "Failed to hash '" + file.string() + "': " + r.err);
  return r.out.substr(0, 64);
}

std::string json_schema_errors(const fs::path& schema, const fs::path& document, const fs::path& scratch) {
  // best_match names the most relevant error; its path says where in the document.
  static const char* const kScript = R"(import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
validator = jsonschema.Draft201909Validator(schema)
error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
if error is not None:
    print("/".join(str(p) for p in error.absolute_path) + ": " + error.message)
    sys.exit(1)
)";
  const RunResult r = run_program(
      {"/usr/bin/python3", "-c", kScript, schema.string(), document.string()},
      {{"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C.UTF-8"}}, scratch);
  if (r.exit_code == 0) return {};
  return r.out.empty() ? "python3 exited " + std::to_string(r.exit_code) + ": " + r.err : r.out;
}

}  // namespace tests::image
