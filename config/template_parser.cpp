#include "config/template_parser.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "config/issues.hpp"
#include "config/rules.hpp"
#include "config/section_parsers.hpp"
#include "config/yaml_reader.hpp"
#include "base/error.hpp"

namespace config {
namespace {

constexpr std::array<std::string_view, 6> kTopKeys{"metadata", "image", "target", "disk",
                                                   "packageRepositories", "systemConfig"};
constexpr std::array<std::string_view, 3> kMetadataKeys{"description", "use_cases", "keywords"};
constexpr std::array<std::string_view, 2> kImageKeys{"name", "version"};
constexpr std::array<std::string_view, 4> kTargetKeys{"os", "dist", "arch", "imageType"};
constexpr std::array<std::string_view, 6> kDiskKeys{"name", "path", "size", "partitionTableType",
                                                    "artifacts", "partitions"};
constexpr std::array<std::string_view, 2> kArtifactKeys{"type", "compression"};
constexpr std::array<std::string_view, 12> kPartitionKeys{
    "id", "index", "name", "type", "typeUUID", "fsType", "fsLabel", "start", "end",
    "mountPoint", "mountOptions", "flags"};
constexpr std::array<std::string_view, 9> kRepositoryKeys{
    "codename", "url", "path", "pkey", "pkeys", "component", "priority", "allowPackages", "keyFingerprints"};

Metadata parse_metadata(YamlReader& in, const YAML::Node& node) {
  Metadata m;
  m.description = in.opt_string(node, "description", "metadata");
  m.use_cases = in.string_list(node, "use_cases", "metadata");
  m.keywords = in.string_list(node, "keywords", "metadata");
  return m;
}

Image parse_image(YamlReader& in, const YAML::Node& node) {
  Image image;
  image.name = in.req_string(node, "name", "image");
  image.version = in.req_string(node, "version", "image");
  if (has_scalar(node, "name") && !rules::is_image_name(*image.name))
    in.error(node["name"], "image.name",
             "\"" + *image.name + "\" is not a valid image name; expected letters, digits, '-' and '_', "
             "starting and ending with a letter or digit");
  if (has_scalar(node, "version") && !rules::is_image_version(*image.version))
    in.error(node["version"], "image.version",
             "\"" + *image.version + "\" is not a valid version; expected MAJOR[.MINOR[.PATCH]][+BUILD], "
             "e.g. \"1.0.0\"");
  return image;
}

Target parse_target(YamlReader& in, const YAML::Node& node) {
  Target t;
  t.os = in.req_string(node, "os", "target");
  t.dist = in.req_string(node, "dist", "target");
  t.arch = in.req_string(node, "arch", "target");
  t.image_type = in.req_string(node, "imageType", "target");
  if (has_scalar(node, "os")) in.check_enum(t.os, "target.os", rules::kTargetOses);
  if (has_scalar(node, "dist") && t.dist->empty()) in.error(node["dist"], "target.dist", "must not be empty");
  if (has_scalar(node, "arch")) in.check_enum(t.arch, "target.arch", rules::kArches);
  if (has_scalar(node, "imageType")) in.check_enum(t.image_type, "target.imageType", rules::kImageTypes);
  return t;
}

Partition parse_partition(YamlReader& in, const YAML::Node& node, const std::string& path) {
  Partition p;
  p.id = in.opt_string(node, "id", path);
  p.index = in.opt_int(node, "index", path, 0, 4096);
  p.name = in.opt_string(node, "name", path);
  p.type = in.opt_string(node, "type", path);
  p.type_uuid = in.opt_string(node, "typeUUID", path);
  p.fs_type = in.opt_string(node, "fsType", path);
  p.fs_label = in.opt_string(node, "fsLabel", path);
  p.start = in.opt_string(node, "start", path);
  p.end = in.opt_string(node, "end", path);
  p.mount_point = in.opt_string(node, "mountPoint", path);
  p.mount_options = in.opt_string(node, "mountOptions", path);
  p.flags = in.string_list(node, "flags", path);
  return p;
}

Disk parse_disk(YamlReader& in, const YAML::Node& node) {
  Disk d;
  d.name = in.req_string(node, "name", "disk");
  d.path = in.opt_string(node, "path", "disk");
  d.size = in.opt_string(node, "size", "disk");
  d.partition_table_type = in.opt_string(node, "partitionTableType", "disk");
  in.check_enum(d.partition_table_type, "disk.partitionTableType", rules::kPartitionTableTypes);
  in.each(node, "artifacts", "disk", [&](const YAML::Node& item, const std::string& path) {
    if (!in.expect_map(item, path, kArtifactKeys)) return;
    Artifact a;
    a.type = in.req_string(item, "type", path);
    a.compression = in.opt_string(item, "compression", path);
    if (has_scalar(item, "type")) in.check_enum(a.type, path + ".type", rules::kArtifactTypes);
    in.check_enum(a.compression, path + ".compression", rules::kCompressions);
    d.artifacts.push_back(std::move(a));
  });
  in.each(node, "partitions", "disk", [&](const YAML::Node& item, const std::string& path) {
    if (in.expect_map(item, path, kPartitionKeys)) d.partitions.push_back(parse_partition(in, item, path));
  });
  return d;
}

bool is_public_key_ref(const std::string& key) {
  return key == "[trusted=yes]" || key == "<PUBLIC_KEY_URL>" || key.starts_with("http://") ||
         key.starts_with("https://") || key.starts_with("file://") || key.starts_with("/");
}

void check_repository_sources(YamlReader& in, const YAML::Node& node, const std::string& path,
                              const PackageRepository& r) {
  if (r.url.has_value() == r.path.has_value())
    in.error(node, path, "needs exactly one of \"url\" and \"path\"");
  if (r.url && *r.url != "<URL>" && !rules::is_url(*r.url))
    in.error(node["url"], path + ".url", "\"" + *r.url + "\" is not a URL; expected scheme://host/...");
  if (r.path && !r.path->starts_with("/"))
    in.error(node["path"], path + ".path", "\"" + *r.path + "\" must be an absolute directory path");
  if (r.pkey.has_value() == !r.pkeys.empty())
    in.error(node, path, "needs exactly one of \"pkey\" and \"pkeys\"");
  auto check_key = [&](const std::string& key, const std::string& key_path) {
    if (!is_public_key_ref(key))
      in.error(key_path, "\"" + key + "\" is not a key reference; expected an http(s):// or file:// URL, "
                         "an absolute path, [trusted=yes] or <PUBLIC_KEY_URL>");
  };
  if (r.pkey) check_key(*r.pkey, path + ".pkey");
  for (std::size_t i = 0; i < r.pkeys.size(); ++i) check_key(r.pkeys[i], index_path(path + ".pkeys", i));
}

PackageRepository parse_repository(YamlReader& in, const YAML::Node& node, const std::string& path) {
  PackageRepository r;
  r.codename = in.req_string(node, "codename", path);
  if (has_scalar(node, "codename") && r.codename.empty()) in.error(node["codename"], path + ".codename", "must not be empty");
  r.url = in.opt_string(node, "url", path);
  r.path = in.opt_string(node, "path", path);
  r.pkey = in.opt_string(node, "pkey", path);
  r.pkeys = in.string_list(node, "pkeys", path);
  r.component = in.opt_string(node, "component", path);
  r.priority = in.opt_int(node, "priority", path, -9999, 9999);
  r.allow_packages = in.string_list(node, "allowPackages", path);
  r.key_fingerprints = in.string_list(node, "keyFingerprints", path);
  for (std::size_t i = 0; i < r.key_fingerprints.size(); ++i) {
    std::string& pin = r.key_fingerprints[i];
    std::transform(pin.begin(), pin.end(), pin.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const bool hex = pin.size() == 40 && std::all_of(pin.begin(), pin.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
    if (!hex) in.error(index_path(path + ".keyFingerprints", i), "\"" + pin + "\" is not a key fingerprint; expected 40 hex digits");
  }
  check_repository_sources(in, node, path, r);
  return r;
}

// Fills `t` (whose marks the reader writes to) from the document root.
void parse_root(YamlReader& in, const YAML::Node& root, ImageTemplate& t) {
  if (root.IsNull() || !root.IsDefined()) {
    in.error(root, "", "the template is empty; expected a mapping with at least image and target");
    return;
  }
  if (!in.expect_map(root, "", kTopKeys)) return;
  if (auto n = in.section(root, "metadata", "", kMetadataKeys)) t.metadata = parse_metadata(in, *n);
  if (auto n = in.section(root, "image", "", kImageKeys)) t.image = parse_image(in, *n);
  if (auto n = in.section(root, "target", "", kTargetKeys)) t.target = parse_target(in, *n);
  if (auto n = in.section(root, "disk", "", kDiskKeys)) t.disk = parse_disk(in, *n);
  in.each(root, "packageRepositories", "", [&](const YAML::Node& item, const std::string& path) {
    if (in.expect_map(item, path, kRepositoryKeys)) t.package_repositories.push_back(parse_repository(in, item, path));
  });
  if (root["systemConfig"]) {
    const YAML::Node node = root["systemConfig"];
    t.system_config = sections::parse_system_config(in, node, "systemConfig", t.source);
  }
}

}  // namespace

ImageTemplate parse_template_text(std::string_view yaml, const std::filesystem::path& source) {
  ImageTemplate t;
  t.source = source;
  Issues issues(t.marks, source.string());
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    issues.add_at(Mark{source.string(), e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg);
    issues.throw_if_any("Failed to parse template");
  }
  YamlReader in(source.string(), t.marks, issues);
  parse_root(in, root, t);
  issues.throw_if_any("Failed to parse template");
  return t;
}

ImageTemplate parse_template_file(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  base::require(ext == ".yml" || ext == ".yaml",
               "Failed to load template '" + path.string() + "': expected a .yml or .yaml file");
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(path, ec);
  base::require(!ec && std::filesystem::exists(status),
               "Failed to load template '" + path.string() + "': no such file");
  base::require(!std::filesystem::is_symlink(status),
               "Failed to load template '" + path.string() + "': symlinked templates are not accepted");
  base::require(std::filesystem::is_regular_file(status),
               "Failed to load template '" + path.string() + "': not a regular file");
  std::ifstream file(path, std::ios::binary);
  base::require(file.good(), "Failed to read template '" + path.string() + "': cannot open");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_template_text(text.str(), path);
}

}  // namespace config
