#include "stages/inspector/disk_text.hpp"

#include <cctype>
#include <algorithm>
#include <charconv>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/pe_image.hpp"

namespace stage::inspector {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

[[noreturn]] void bad_line(const std::string& where, std::size_t number, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput,
             "Failed to read " + where + ": line " + std::to_string(number) + " " + why);
}

std::uint32_t to_u32(const std::string& text, const std::string& where, std::size_t number, const char* field) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    bad_line(where, number, std::string("has the ") + field + " '" + text + "', not a number");
  }
  return value;
}

// The partition's number: the digits that end sfdisk's node name ("/dev/fd/3p2").
std::uint32_t node_number(const std::string& node) {
  std::size_t digits = node.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(node[digits - 1]))) --digits;
  base::require(digits < node.size(), "Failed to read sfdisk's partition node '" + node + "': no number");
  return static_cast<std::uint32_t>(std::stoul(node.substr(digits)));
}

Partition sfdisk_partition(const nlohmann::json& p, std::uint32_t sector) {
  Partition part;
  part.index = node_number(p.at("node").get<std::string>());
  part.first_lba = p.at("start").get<std::uint64_t>();
  const std::uint64_t sectors = p.at("size").get<std::uint64_t>();
  part.last_lba = sectors == 0 ? part.first_lba : part.first_lba + sectors - 1;
  part.size_bytes = sectors * sector;
  part.type_guid = upper(p.value("type", ""));
  part.unique_guid = upper(p.value("uuid", ""));
  part.name = p.value("name", "");
  return part;
}

// os-release(5) values: "double" (with \" \\ \$ \` escapes), 'single' or bare.
std::string unquote(const std::string& value, const std::string& where, std::size_t number) {
  if (value.empty() || (value.front() != '"' && value.front() != '\'')) return value;
  const char quote = value.front();
  if (value.size() < 2 || value.back() != quote) bad_line(where, number, "has an unterminated quote");
  std::string out;
  for (std::size_t i = 1; i + 1 < value.size(); ++i) {
    if (quote == '"' && value[i] == '\\' && i + 2 < value.size()) ++i;
    out += value[i];
  }
  return out;
}

void finish_stanza(std::vector<Package>& out, Package& current, std::string& status) {
  const std::string installed = " installed";
  if (!current.name.empty() && status.size() >= installed.size() &&
      status.compare(status.size() - installed.size(), installed.size(), installed) == 0) {
    out.push_back(current);
  }
  current = Package{};
  status.clear();
}

}  // namespace

SfdiskTable parse_sfdisk_json(const std::string& json) {
  try {
    const nlohmann::json table = nlohmann::json::parse(json).at("partitiontable");
    base::require(table.value("unit", "sectors") == "sectors", "sfdisk --json reports an unknown unit");
    SfdiskTable out;
    out.table.label = table.value("label", "");
    out.table.id = upper(table.value("id", ""));
    out.table.sector_size = table.value("sectorsize", 512u);
    out.table.first_lba = table.value("firstlba", std::uint64_t{0});
    out.table.last_lba = table.value("lastlba", std::uint64_t{0});
    for (const nlohmann::json& p : table.value("partitions", nlohmann::json::array())) {
      out.partitions.push_back(sfdisk_partition(p, out.table.sector_size));
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    base::fail(base::ErrorKind::kInvalidInput, std::string("Failed to read sfdisk's partition table: ") + e.what());
  }
}

std::vector<std::pair<std::string, std::string>> parse_key_values(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& line : lines_of(text)) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_os_release(const std::string& text, const std::string& where) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t number = 0;
  for (const std::string& line : lines_of(text)) {
    ++number;
    if (line.find_first_not_of(" \t") == std::string::npos || line.front() == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) bad_line(where, number, "is not KEY=VALUE");
    out.emplace_back(line.substr(0, eq), unquote(line.substr(eq + 1), where, number));
  }
  return out;
}

std::vector<Package> parse_dpkg_status(const std::string& text, const std::string& where) {
  std::vector<Package> out;
  Package current;
  std::string status;
  std::size_t number = 0;
  for (const std::string& line : lines_of(text)) {
    ++number;
    if (line.empty()) {
      finish_stanza(out, current, status);
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') continue;  // a continuation line
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) bad_line(where, number, "is not 'Field: value'");
    const std::string field = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (field == "Package") current.name = value;
    if (field == "Version") current.version = value;
    if (field == "Architecture") current.architecture = value;
    if (field == "Status") status = value;
  }
  finish_stanza(out, current, status);
  return out;
}

std::vector<User> parse_passwd(const std::string& text, const std::string& where) {
  std::vector<User> out;
  std::size_t number = 0;
  for (const std::string& line : lines_of(text)) {
    ++number;
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string> f = split(line, ':');
    if (f.size() != 7) bad_line(where, number, "has " + std::to_string(f.size()) + " fields, not 7");
    out.push_back({f[0], to_u32(f[2], where, number, "uid"), to_u32(f[3], where, number, "gid"), f[4], f[5], f[6]});
  }
  return out;
}

std::vector<Group> parse_group(const std::string& text, const std::string& where) {
  std::vector<Group> out;
  std::size_t number = 0;
  for (const std::string& line : lines_of(text)) {
    ++number;
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string> f = split(line, ':');
    if (f.size() != 4) bad_line(where, number, "has " + std::to_string(f.size()) + " fields, not 4");
    Group group{f[0], to_u32(f[2], where, number, "gid"), {}};
    if (!f[3].empty()) group.members = split(f[3], ',');
    out.push_back(std::move(group));
  }
  return out;
}

std::optional<DebugfsStat> parse_debugfs_stat(const std::string& text) {
  DebugfsStat stat;
  bool have_type = false;
  for (const std::string& line : lines_of(text)) {
    if (line.rfind("Inode:", 0) == 0 && line.find("Type:") != std::string::npos) {
      std::istringstream words(line.substr(line.find("Type:") + 5));
      have_type = static_cast<bool>(words >> stat.type);
    } else if (line.rfind("User:", 0) == 0 && line.find("Size:") != std::string::npos) {
      std::istringstream words(line.substr(line.find("Size:") + 5));
      words >> stat.size;
    } else if (line.rfind("Fast link dest: \"", 0) == 0 && line.size() >= 18 && line.back() == '"') {
      stat.fast_link = line.substr(17, line.size() - 18);
    }
  }
  if (!have_type) return std::nullopt;
  return stat;
}

std::optional<std::uint64_t> parse_debugfs_fs_size(const std::string& text) {
  std::optional<std::uint64_t> blocks, block_size;
  for (const std::string& line : lines_of(text)) {
    std::istringstream words(line.substr(line.find(':') == std::string::npos ? 0 : line.find(':') + 1));
    std::uint64_t value = 0;
    if (line.rfind("Block count:", 0) == 0 && (words >> value)) blocks = value;
    if (line.rfind("Block size:", 0) == 0 && (words >> value)) block_size = value;
  }
  if (!blocks || !block_size) return std::nullopt;
  return *blocks * *block_size;
}

std::optional<std::uint64_t> parse_fat_size(std::string_view sector) {
  if (sector.size() < 512) return std::nullopt;
  const auto byte = [&](std::size_t at) { return static_cast<std::uint32_t>(static_cast<unsigned char>(sector[at])); };
  const auto le16 = [&](std::size_t at) { return byte(at) | byte(at + 1) << 8; };
  const auto le32 = [&](std::size_t at) { return le16(at) | le16(at + 2) << 16; };
  if (byte(510) != 0x55 || byte(511) != 0xAA) return std::nullopt;
  const std::uint32_t bytes_per_sector = le16(11);
  const bool power_of_two = (bytes_per_sector & (bytes_per_sector - 1)) == 0;
  if (bytes_per_sector < 512 || bytes_per_sector > 4096 || !power_of_two) return std::nullopt;
  const std::uint32_t sectors = le16(19) != 0 ? le16(19) : le32(32);
  if (sectors == 0) return std::nullopt;
  return std::uint64_t{sectors} * bytes_per_sector;
}

std::vector<std::string> parse_debugfs_regular_files(const std::string& text) {
  std::vector<std::string> names;
  for (const std::string& line : lines_of(text)) {
    // "/INODE/MODE/UID/GID/NAME/SIZE/": a name cannot hold '/'.
    if (line.size() < 2 || line.front() != '/' || line.back() != '/') continue;
    const std::vector<std::string> f = split(line.substr(1, line.size() - 2), '/');
    if (f.size() == 6 && f[1].size() >= 3 && f[1].compare(0, f[1].size() - 4, "10") == 0 && !f[4].empty()) {
      names.push_back(f[4]);
    }
  }
  return names;
}

namespace {

// A section's text: its raw data up to its size in memory, cut at the first NUL.
std::string section_text(const std::string& bytes, const base::PeSection& section, const std::string& where) {
  const std::string_view data = base::section_data(bytes, section, where);
  const std::string_view text = data.substr(0, section.virtual_size == 0 ? data.size() : section.virtual_size);
  return std::string(text.substr(0, text.find('\0')));
}

}  // namespace

void parse_uki(const std::string& bytes, const std::string& where, Uki& uki) {
  const base::PeImage image = base::read_pe_image(bytes, where);
  for (const base::PeSection& section : image.sections) {
    const std::uint64_t size = std::min(section.virtual_size == 0 ? section.raw_size : section.virtual_size,
                                        section.raw_size);
    uki.sections.push_back({section.name, size});
    if (section.name == ".cmdline") uki.cmdline = section_text(bytes, section, where);
    if (section.name == ".osrel") uki.os_release = section_text(bytes, section, where);
  }
  while (!uki.cmdline.empty() && (uki.cmdline.back() == '\n' || uki.cmdline.back() == ' ')) uki.cmdline.pop_back();
}

std::vector<std::string> parse_mdir(const std::string& text) {
  std::vector<std::string> paths;
  for (const std::string& line : lines_of(text)) {
    if (line.rfind("::", 0) == 0) paths.push_back(line.substr(2));
  }
  return paths;
}

namespace {

std::string trimmed(const std::string& text) {
  const std::size_t start = text.find_first_not_of(" \t");
  if (start == std::string::npos) return {};
  return text.substr(start, text.find_last_not_of(" \t\r") - start + 1);
}

// roothash= (systemd-veritysetup-generator). systemd.verity_root_hash=
// names the hash partition, not the hash.
std::string verity_hash(const std::string& options) {
  std::istringstream words(options);
  for (std::string word; words >> word;) {
    if (word.rfind("roothash=", 0) == 0) return word.substr(9);
  }
  return {};
}

}  // namespace

namespace {

// A Boot Loader Specification entry: one kernel, its `options` lines joined.
KernelEntry bls_entry(const std::vector<std::string>& lines, const std::string& config) {
  KernelEntry entry{config, {}, {}, {}};
  for (const std::string& raw : lines) {
    std::istringstream words(trimmed(raw));
    std::string key, rest;
    words >> key;
    std::getline(words, rest);
    if (key == "linux") entry.kernel = trimmed(rest);
    if (key == "options") entry.options += (entry.options.empty() ? "" : " ") + trimmed(rest);
  }
  return entry;
}

}  // namespace

std::vector<KernelEntry> parse_kernel_entries(const std::string& text, const std::string& config) {
  std::vector<KernelEntry> out;
  if (config.find("/loader/entries/") != std::string::npos) {
    out.push_back(bls_entry(lines_of(text), config));
  } else {
    for (const std::string& raw : lines_of(text)) {
      std::istringstream words(trimmed(raw));
      std::string key, kernel, rest;
      words >> key;
      if (key != "linux" && key != "linuxefi") continue;
      words >> kernel;
      std::getline(words, rest);
      out.push_back({config, kernel, trimmed(rest), {}});
    }
  }
  for (KernelEntry& entry : out) entry.verity_root_hash = verity_hash(entry.options);
  return out;
}

KernelEntry uki_kernel_entry(const Uki& uki) { return {uki.path, uki.path, uki.cmdline, verity_hash(uki.cmdline)}; }

}  // namespace stage::inspector
