// `inspect IMAGE [--format text|json|yaml]`: what a raw or qcow2 disk image
// or an ISO 9660 medium holds (a qcow2 one is made raw in the sandbox first:
// inspector_run.hpp).
// The image is untrusted: stage-inspector parses it in its sandbox (an fd
// opened read-only here, a regular file), and its report is printed here as
// text, JSON or YAML, every string from the image made printable. Exit 0
// when read, 1 when the image cannot be read, 2 on usage errors.
// --extract-sbom writes the SBOM the stage read out of the image.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "stages/inspector/report.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/cli/inspector_run.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;
namespace inspector = stage::inspector;
using nlohmann::json;

void add_inspect_options(po::options_description& options) {
  options.add_options()("format", po::value<std::string>()->default_value("text")->value_name("text|json|yaml"),
                        "how the report is printed")(
      "extract-sbom", po::value<std::string>()->implicit_value(".")->value_name("PATH"),
      "write the SBOM embedded in the image (/usr/share/sbom/*.json) to PATH: a *.json file, or a directory "
      "(default: the current one) where it keeps its name");
}

std::string format_of(const Invocation& inv) {
  const std::string format = inv.options["format"].as<std::string>();
  if (format != "text" && format != "json" && format != "yaml") {
    base::fail(base::ErrorKind::kInvalidInput, "Unknown --format '" + format + "': expected text, json or yaml");
  }
  return format;
}

json partition_json(const inspector::Partition& p) {
  return {{"index", p.index},         {"name", p.name},           {"typeGuid", p.type_guid},
          {"uniqueGuid", p.unique_guid}, {"firstLba", p.first_lba}, {"lastLba", p.last_lba},
          {"sizeBytes", p.size_bytes}, {"filesystem",
                                        {{"type", p.fs_type}, {"label", p.fs_label}, {"uuid", p.fs_uuid},
                                         {"sizeBytes", p.fs_size_bytes}}}};
}

json root_json(const inspector::Report& r) {
  json os = json::object();
  for (const auto& [key, value] : r.os_release) os[key] = value;
  json packages = json::array();
  for (const auto& p : r.packages) packages.push_back({{"name", p.name}, {"version", p.version}, {"architecture", p.architecture}});
  json users = json::array();
  for (const auto& u : r.users) {
    users.push_back({{"name", u.name}, {"uid", u.uid}, {"gid", u.gid}, {"gecos", u.gecos}, {"home", u.home}, {"shell", u.shell}});
  }
  json groups = json::array();
  for (const auto& g : r.groups) groups.push_back({{"name", g.name}, {"gid", g.gid}, {"members", g.members}});
  return {{"partition", r.root_partition}, {"osRelease", os}, {"packages", packages}, {"users", users}, {"groups", groups}};
}

json boot_json(const inspector::Report& r) {
  json files = json::array();
  for (const auto& f : r.boot_files) files.push_back({{"partition", f.partition}, {"path", f.path}});
  json configs = json::array();
  for (const auto& c : r.boot_configs) configs.push_back({{"partition", c.partition}, {"path", c.path}, {"text", c.text}});
  json kernels = json::array();
  for (const auto& k : r.kernel_entries) {
    kernels.push_back({{"config", k.config}, {"kernel", k.kernel}, {"commandLine", k.options},
                       {"verityRootHash", k.verity_root_hash}});
  }
  json ukis = json::array();
  for (const auto& u : r.ukis) {
    json sections = json::array();
    for (const auto& s : u.sections) sections.push_back({{"name", s.name}, {"size", s.size}});
    ukis.push_back({{"partition", u.partition}, {"path", u.path}, {"sections", sections}, {"cmdline", u.cmdline},
                    {"osRelease", u.os_release}});
  }
  return {{"files", files}, {"configs", configs}, {"kernels", kernels}, {"ukis", ukis}};
}

json report_json(const fs::path& image, const inspector::Report& r) {
  // An installer medium has no root file system, but the packages it installs (partition 0).
  const bool has_root = r.root_partition != 0 || (r.table.label == "iso9660" && !r.packages.empty());
  json partitions = json::array();
  for (const auto& p : r.partitions) partitions.push_back(partition_json(p));
  return {{"image", image.string()},
          {"partitionTable", {{"type", r.table.label}, {"id", r.table.id}, {"sectorSize", r.table.sector_size},
                              {"firstUsableLba", r.table.first_lba}, {"lastUsableLba", r.table.last_lba}}},
          {"partitions", partitions},
          {"root", has_root ? root_json(r) : json(nullptr)},
          {"boot", boot_json(r)},
          {"sbom", r.sbom_path.empty() ? json(nullptr) : json(r.sbom_path)}};
}

void emit_yaml(YAML::Emitter& out, const json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << shown(key) << YAML::Value;
      emit_yaml(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : value) emit_yaml(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << shown(value.get<std::string>());
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();
  }
}

void print_partitions(std::ostream& out, const inspector::Report& r) {
  out << "Partition table: " << shown(r.table.label) << ", id " << shown(r.table.id) << ", sector size "
      << r.table.sector_size << ", usable LBA " << r.table.first_lba << "-" << r.table.last_lba << "\n";
  out << "Partitions (" << r.partitions.size() << "):\n";
  for (const auto& p : r.partitions) {
    out << "  " << p.index << "  " << std::left << std::setw(12) << shown(p.name) << " LBA " << p.first_lba << "-"
        << p.last_lba << "  " << p.size_bytes << " bytes  type " << shown(p.type_guid) << "  guid "
        << shown(p.unique_guid) << "\n";
    out << "     file system: "
        << (p.fs_type.empty() ? std::string("none recognised")
                              : shown(p.fs_type) + "  label '" + shown(p.fs_label) + "'  uuid " + shown(p.fs_uuid) +
                                    (p.fs_size_bytes ? "  " + std::to_string(p.fs_size_bytes) + " bytes" : ""))
        << "\n";
  }
}

void print_root(std::ostream& out, const inspector::Report& r) {
  if (r.root_partition == 0) {
    out << "Root file system: none found (no ext2/3/4 partition with /etc)\n";
    return;
  }
  out << "Root file system: partition " << r.root_partition << "\n";
  out << "OS release:\n";
  for (const auto& [key, value] : r.os_release) out << "  " << shown(key) << "=" << shown(value) << "\n";
  out << "Packages (" << r.packages.size() << "):\n";
  for (const auto& p : r.packages) out << "  " << shown(p.name) << " " << shown(p.version) << " " << shown(p.architecture) << "\n";
  out << "Users (" << r.users.size() << "):\n";
  for (const auto& u : r.users) {
    out << "  " << shown(u.name) << " uid " << u.uid << " gid " << u.gid << " home " << shown(u.home) << " shell "
        << shown(u.shell) << "\n";
  }
  out << "Groups (" << r.groups.size() << "):\n";
  for (const auto& g : r.groups) {
    std::string members;
    for (const auto& m : g.members) members += (members.empty() ? "" : ",") + shown(m);
    out << "  " << shown(g.name) << " gid " << g.gid << (members.empty() ? "" : " members " + members) << "\n";
  }
}

// An ISO 9660 medium: its volume, and the packages of the installer's
// lockfile (what it installs), not of a root file system.
void print_medium(std::ostream& out, const inspector::Report& r) {
  out << "ISO 9660 medium: volume '" << shown(r.table.id) << "', " << (r.table.last_lba + 1) << " blocks of "
      << r.table.sector_size << " bytes\n";
  out << "Packages of the installer's lockfile (" << r.packages.size() << "):\n";
  for (const auto& p : r.packages) out << "  " << shown(p.name) << " " << shown(p.version) << " " << shown(p.architecture) << "\n";
}

void print_boot(std::ostream& out, const inspector::Report& r) {
  out << "Boot files (" << r.boot_files.size() << "):\n";
  for (const auto& f : r.boot_files) out << "  partition " << f.partition << "  " << shown(f.path) << "\n";
  out << "Boot configuration (" << r.boot_configs.size() << "):\n";
  for (const auto& c : r.boot_configs) {
    out << "  partition " << c.partition << "  " << shown(c.path) << "  " << c.text.size() << " bytes\n";
  }
  out << "UKIs (" << r.ukis.size() << "):\n";
  for (const auto& u : r.ukis) {
    std::string sections;
    for (const auto& s : u.sections) sections += (sections.empty() ? "" : ", ") + shown(s.name) + " " + std::to_string(s.size);
    out << "  partition " << u.partition << "  " << shown(u.path) << "\n    sections: " << sections << "\n";
  }
  out << "Kernels (" << r.kernel_entries.size() << "):\n";
  for (const auto& k : r.kernel_entries) {
    out << "  " << shown(k.kernel) << "  (" << shown(k.config) << ")\n    command line: " << shown(k.options) << "\n";
    if (!k.verity_root_hash.empty()) out << "    dm-verity root hash: " << shown(k.verity_root_hash) << "\n";
  }
}

// The file name the image gives its SBOM, when it is a plain one; the
// reference's name otherwise.
std::string sbom_file_name(const std::string& path_in_image) {
  const std::string name = path_in_image.substr(path_in_image.rfind('/') + 1);
  const bool plain = !name.empty() && name.front() != '.' && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+';
  });
  return plain ? name : "spdx_manifest.json";
}

// --extract-sbom PATH: a *.json file, or a directory the SBOM goes into under its own name.
fs::path write_sbom(const fs::path& image, const inspector::Report& report, const fs::path& target) {
  if (report.sbom_path.empty()) {
    base::fail(base::ErrorKind::kFailed, "Failed to extract the SBOM of '" + image.string() + "': " +
                                             (report.root_partition == 0 ? std::string("no root file system found")
                                                                         : "no /usr/share/sbom/*.json in partition " +
                                                                               std::to_string(report.root_partition)));
  }
  const bool file = target.extension() == ".json";
  if (!file && !fs::is_directory(target)) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to extract the SBOM to '" + target.string() +
                                                   "': not a directory, nor a *.json file name");
  }
  const fs::path out = file ? target : target / sbom_file_name(report.sbom_path);
  base::write_file_replacing(out.string(), report.sbom, 0644);
  return out;
}

int run_inspect(const Invocation& inv) {
  const fs::path image = inv.args.at(0);
  const std::string format = format_of(inv);
  const bool extract = inv.options.count("extract-sbom") > 0;
  const inspector::Report report = run_inspector(inv, image, {.extract_sbom = extract});
  if (extract) {
    const fs::path written = write_sbom(image, report, inv.options["extract-sbom"].as<std::string>());
    inv.log.info("wrote the SBOM " + shown(report.sbom_path) + " of '" + image.string() + "' to " + written.string());
  }
  if (format == "json") {
    inv.out << report_json(image, report).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else if (format == "yaml") {
    YAML::Emitter out;
    emit_yaml(out, report_json(image, report));
    inv.out << out.c_str() << "\n";
  } else {
    inv.out << "Image: " << shown(image.string()) << "\n";
    if (report.table.label == "iso9660") {
      print_medium(inv.out, report);
    } else {
      print_partitions(inv.out, report);
      print_root(inv.out, report);
    }
    print_boot(inv.out, report);
    inv.out << "SBOM: " << (report.sbom_path.empty() ? std::string("none found") : shown(report.sbom_path)) << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Verb> inspect_verbs() {
  return {Verb{.name = "inspect", .arguments = "IMAGE",
               .summary = "Show a raw or qcow2 disk image's partitions, file systems, OS release, packages, users, groups "
                          "and boot setup, or an ISO medium's volume, boot setup and the packages it installs",
               .min_args = 1, .max_args = 1, .add_options = add_inspect_options, .run = run_inspect}};
}

}  // namespace supervisor::cli
