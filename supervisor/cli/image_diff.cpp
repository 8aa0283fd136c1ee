#include "supervisor/cli/image_diff.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "supervisor/cache/digest.hpp"

namespace supervisor::cli {
namespace {

namespace inspector = stage::inspector;

struct Field {
  std::string name;
  std::string value;
  bool is_volatile = false;
};
using Fields = std::vector<Field>;
using Indexed = std::map<std::string, Fields>;  // item -> its fields, in a fixed order

// Items by key; a key seen again gets " #2", " #3", ...
template <typename T>
Indexed index_by(const std::vector<T>& items, const std::function<std::string(const T&)>& key,
                 const std::function<Fields(const T&)>& describe) {
  Indexed out;
  for (const T& item : items) {
    const std::string k = key(item);
    std::string unique = k;
    for (int n = 2; out.count(unique) > 0; ++n) unique = k + " #" + std::to_string(n);
    out.emplace(unique, describe(item));
  }
  return out;
}

Change whole(const std::string& section, const std::string& item, bool added, const Fields& fields) {
  Change change{section, item, added ? "added" : "removed", {}, false};
  for (const Field& f : fields) change.fields.push_back({f.name, added ? "" : f.value, added ? f.value : ""});
  return change;
}

void changed(const std::string& section, const std::string& item, const Fields& a, const Fields& b,
             std::vector<Change>& out) {
  Change change{section, item, "changed", {}, true};
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].value == b[i].value) continue;
    change.fields.push_back({a[i].name, a[i].value, b[i].value});
    change.volatile_only = change.volatile_only && a[i].is_volatile;
  }
  if (!change.fields.empty()) out.push_back(std::move(change));
}

void diff_indexed(const std::string& section, const Indexed& a, const Indexed& b, std::vector<Change>& out) {
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back(whole(section, ia->first, false, ia->second));
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back(whole(section, ib->first, true, ib->second));
      ++ib;
    } else {
      changed(section, ia->first, ia->second, ib->second, out);
      ++ia;
      ++ib;
    }
  }
}

template <typename T>
void diff_lists(const std::string& section, const std::vector<T>& a, const std::vector<T>& b,
                const std::function<std::string(const T&)>& key, const std::function<Fields(const T&)>& describe,
                std::vector<Change>& out) {
  diff_indexed(section, index_by(a, key, describe), index_by(b, key, describe), out);
}

std::string octal(std::uint32_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", mode);
  return text;
}

std::string joined(const std::vector<std::string>& items, const std::string& separator = ",") {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

void diff_table(const inspector::Report& a, const inspector::Report& b, std::vector<Change>& out) {
  const auto describe = [](const inspector::PartitionTable& t) {
    return Fields{{"type", t.label},
                  {"disk GUID", t.id, true},
                  {"sector size", std::to_string(t.sector_size)},
                  {"first usable LBA", std::to_string(t.first_lba)},
                  {"last usable LBA", std::to_string(t.last_lba)}};
  };
  changed("partition table", "table", describe(a.table), describe(b.table), out);
}

// A partition's identity across two images: its GPT name and type (the
// reference's key), or its MBR index.
std::string partition_key(const std::string& label, const inspector::Partition& p) {
  if (label == "gpt") return p.name + " (" + p.type_guid + ")";
  return "index " + std::to_string(p.index) + " (type " + p.type_guid + ")";
}

Fields describe_partition(const inspector::Partition& p) {
  return {{"index", std::to_string(p.index)},
          {"first LBA", std::to_string(p.first_lba)},
          {"last LBA", std::to_string(p.last_lba)},
          {"size", std::to_string(p.size_bytes)},
          {"GUID", p.unique_guid, true},
          {"file system", p.fs_type},
          {"label", p.fs_label},
          {"file system UUID", p.fs_uuid, true},
          {"file system size", std::to_string(p.fs_size_bytes)}};
}

void diff_partitions(const inspector::Report& a, const inspector::Report& b, std::vector<Change>& out) {
  const std::function<std::string(const inspector::Partition&)> key_a = [&](const inspector::Partition& p) {
    return partition_key(a.table.label, p);
  };
  const std::function<std::string(const inspector::Partition&)> key_b = [&](const inspector::Partition& p) {
    return partition_key(b.table.label, p);
  };
  diff_indexed("partitions", index_by<inspector::Partition>(a.partitions, key_a, describe_partition),
               index_by<inspector::Partition>(b.partitions, key_b, describe_partition), out);
}

void diff_root(const inspector::Report& a, const inspector::Report& b, std::vector<Change>& out) {
  using KV = std::pair<std::string, std::string>;
  diff_lists<KV>("os-release", a.os_release, b.os_release, [](const KV& kv) { return kv.first; },
                 [](const KV& kv) { return Fields{{"value", kv.second}}; }, out);
  diff_lists<inspector::Package>(
      "packages", a.packages, b.packages, [](const inspector::Package& p) { return p.name + ":" + p.architecture; },
      [](const inspector::Package& p) { return Fields{{"version", p.version}}; }, out);
  diff_lists<inspector::User>("users", a.users, b.users, [](const inspector::User& u) { return u.name; },
                              [](const inspector::User& u) {
                                return Fields{{"uid", std::to_string(u.uid)}, {"gid", std::to_string(u.gid)},
                                              {"gecos", u.gecos}, {"home", u.home}, {"shell", u.shell}};
                              },
                              out);
  diff_lists<inspector::Group>(
      "groups", a.groups, b.groups, [](const inspector::Group& g) { return g.name; },
      [](const inspector::Group& g) { return Fields{{"gid", std::to_string(g.gid)}, {"members", joined(g.members)}}; },
      out);
}

std::string in_partition(std::uint32_t partition, const std::string& path) {
  return "partition " + std::to_string(partition) + " " + path;
}

constexpr std::size_t kMaxLinePairs = 16;

// The lines of `a` that `b` lacks (each line counted), in `a`'s order.
std::vector<std::string> lines_missing(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::map<std::string, int> left;
  for (const std::string& line : b) ++left[line];
  std::vector<std::string> out;
  for (const std::string& line : a) {
    if (left[line]-- <= 0) out.push_back(line);
  }
  return out;
}

// A changed boot configuration file: its lines that went and came, paired
// in order (at most kMaxLinePairs, then how many more).
void add_line_changes(const std::string& from, const std::string& to, Change& change) {
  const auto a = lines_of(from);
  const auto b = lines_of(to);
  const auto removed = lines_missing(a, b);
  const auto added = lines_missing(b, a);
  const std::size_t pairs = std::max(removed.size(), added.size());
  for (std::size_t i = 0; i < pairs && i < kMaxLinePairs; ++i) {
    change.fields.push_back({"line", i < removed.size() ? removed[i] : "", i < added.size() ? added[i] : ""});
  }
  if (pairs > kMaxLinePairs) change.fields.push_back({"more lines", "", std::to_string(pairs - kMaxLinePairs)});
}

void diff_boot_configs(const inspector::Report& a, const inspector::Report& b, std::vector<Change>& out) {
  const std::size_t first = out.size();
  diff_lists<inspector::BootConfig>(
      "boot configuration", a.boot_configs, b.boot_configs,
      [](const inspector::BootConfig& c) { return in_partition(c.partition, c.path); },
      [](const inspector::BootConfig& c) {
        return Fields{{"size", std::to_string(c.text.size())}, {"sha256", sha256_hex(c.text)}};
      },
      out);
  for (std::size_t i = first; i < out.size(); ++i) {
    if (out[i].kind != "changed") continue;
    const auto text_in = [&](const inspector::Report& r) {
      for (const auto& c : r.boot_configs) {
        if (in_partition(c.partition, c.path) == out[i].item) return c.text;
      }
      return std::string();
    };
    add_line_changes(text_in(a), text_in(b), out[i]);
  }
}

void diff_boot(const inspector::Report& a, const inspector::Report& b, std::vector<Change>& out) {
  diff_boot_configs(a, b, out);
  diff_lists<inspector::KernelEntry>(
      "kernels", a.kernel_entries, b.kernel_entries,
      [](const inspector::KernelEntry& k) { return k.kernel + " (" + k.config + ")"; },
      [](const inspector::KernelEntry& k) {
        return Fields{{"command line", k.options}, {"dm-verity root hash", k.verity_root_hash}};
      },
      out);
  diff_lists<inspector::Uki>(
      "UKIs", a.ukis, b.ukis, [](const inspector::Uki& u) { return in_partition(u.partition, u.path); },
      [](const inspector::Uki& u) {
        std::vector<std::string> sections;
        for (const auto& s : u.sections) sections.push_back(s.name + " " + std::to_string(s.size));
        return Fields{{"sections", joined(sections, ", ")}, {"cmdline", u.cmdline}, {"osrel", u.os_release}};
      },
      out);
  changed("SBOM", "path", {{"path", a.sbom_path}}, {{"path", b.sbom_path}}, out);
}

Fields describe_file(const inspector::FileEntry& f) {
  return {{"type", f.type},
          {"mode", octal(f.mode)},
          {"owner", std::to_string(f.uid) + ":" + std::to_string(f.gid)},
          {"size", std::to_string(f.size)},
          {"sha256", f.sha256},
          {"link target", f.link_target}};
}

std::vector<inspector::FileEntry> files_of(const inspector::Report& r, std::uint32_t partition) {
  std::vector<inspector::FileEntry> out;
  for (const auto& f : r.files) {
    if (f.partition == partition) out.push_back(f);
  }
  return out;
}

// The files of each partition both images have (matched as in diff_partitions),
// or of both media when both are ISO 9660 (their files are on "partition" 0).
void diff_files(const inspector::Report& a, const inspector::Report& b, std::vector<Change>& out) {
  if (a.table.label == "iso9660" && b.table.label == "iso9660") {
    diff_lists<inspector::FileEntry>("files (medium)", files_of(a, 0), files_of(b, 0),
                                     [](const inspector::FileEntry& f) { return f.path; }, describe_file, out);
  }
  for (const auto& pa : a.partitions) {
    for (const auto& pb : b.partitions) {
      if (partition_key(a.table.label, pa) != partition_key(b.table.label, pb)) continue;
      const std::string section = "files (partition " + std::to_string(pb.index) +
                                  (pb.name.empty() ? "" : " " + pb.name) + ")";
      diff_lists<inspector::FileEntry>(section, files_of(a, pa.index), files_of(b, pb.index),
                                       [](const inspector::FileEntry& f) { return f.path; }, describe_file, out);
    }
  }
}

}  // namespace

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
  return lines;
}

std::vector<Change> diff_reports(const inspector::Report& a, const inspector::Report& b) {
  std::vector<Change> out;
  diff_table(a, b, out);
  diff_partitions(a, b, out);
  diff_root(a, b, out);
  diff_boot(a, b, out);
  diff_files(a, b, out);
  return out;
}

std::vector<Change> diff_partition_bytes(const inspector::Report& a, const PartitionHashes& a_hashes,
                                         const inspector::Report& b, const PartitionHashes& b_hashes) {
  const auto listed = [](const inspector::Partition& p) {
    return p.fs_type == "ext2" || p.fs_type == "ext3" || p.fs_type == "ext4" || p.fs_type == "vfat";
  };
  std::vector<Change> out;
  for (const auto& pa : a.partitions) {
    for (const auto& pb : b.partitions) {
      if (partition_key(a.table.label, pa) != partition_key(b.table.label, pb)) continue;
      const auto ha = a_hashes.find(pa.index);
      const auto hb = b_hashes.find(pb.index);
      if (ha == a_hashes.end() || hb == b_hashes.end() || ha->second == hb->second) continue;
      out.push_back({"partition bytes", partition_key(b.table.label, pb), "changed", {{"sha256", ha->second, hb->second}},
                     listed(pa) && listed(pb)});
    }
  }
  return out;
}

std::vector<Change> diff_packages(const PackageVersions& a, const PackageVersions& b) {
  const auto index = [](const PackageVersions& packages) {
    Indexed out;
    for (const auto& [name, versions] : packages) out.emplace(name, Fields{{"version", joined(versions, ", ")}});
    return out;
  };
  std::vector<Change> out;
  diff_indexed("packages", index(a), index(b), out);
  return out;
}

Equality classify(const std::vector<Change>& changes, std::optional<bool> hashes_equal) {
  if (hashes_equal.value_or(false)) return Equality::kBinaryIdentical;
  for (const Change& c : changes) {
    if (!c.volatile_only) return Equality::kDifferent;
  }
  return hashes_equal ? Equality::kSemanticallyIdentical : Equality::kSemanticallyIdenticalUnverified;
}

std::string equality_name(Equality equality) {
  switch (equality) {
    case Equality::kBinaryIdentical: return "binary_identical";
    case Equality::kSemanticallyIdentical: return "semantically_identical";
    case Equality::kSemanticallyIdenticalUnverified: return "semantically_identical_unverified";
    case Equality::kDifferent: break;
  }
  return "different";
}

std::map<std::string, SectionCounts> count_by_section(const std::vector<Change>& changes) {
  std::map<std::string, SectionCounts> out;
  for (const Change& c : changes) {
    SectionCounts& counts = out[c.section];
    (c.kind == "added" ? counts.added : c.kind == "removed" ? counts.removed : counts.changed)++;
  }
  return out;
}

}  // namespace supervisor::cli
