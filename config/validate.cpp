#include "config/validate.hpp"

#include <set>

#include "config/defaults.hpp"
#include "config/initramfs.hpp"
#include "config/rules.hpp"

namespace config {
namespace fs = std::filesystem;
namespace {

void check_required(const ImageTemplate& t, TemplateRole role, Issues& issues) {
  if (!t.image) issues.add("image", "is required");
  if (!t.target) issues.add("target", "is required");
  if (role == TemplateRole::kUser) return;
  if (!t.system_config) issues.add("systemConfig", "is required");
  if (role != TemplateRole::kMerged || !t.target || t.target->image_type != "raw") return;
  if (!t.disk)
    issues.add("disk", "is required for a raw image");
  else if (!t.disk->size)
    issues.add("disk.size", "is required for a raw image");
  else if (t.disk->partitions.empty())
    issues.add("disk.partitions", "a raw image needs at least one partition");
}

// A target exists when the config dir holds a default template for it.
void check_target_exists(const ImageTemplate& t, const ValidateOptions& options, Issues& issues) {
  if (!t.target || options.config_dir.empty()) return;
  const Target& target = *t.target;
  if (!target.os || !target.dist || !target.arch || !target.image_type) return;
  if (fs::is_regular_file(default_template_path(options.config_dir, target))) return;
  issues.add("target", "no default template for " + *target.os + "/" + *target.dist + "/" + *target.arch +
                           "/" + *target.image_type + " in '" + options.config_dir.string() +
                           "'; supported: " + describe_targets(find_supported_targets(options.config_dir)));
}

// An ISO's live environment is its own template (config/initramfs.hpp):
// named, and present, before anything is built.
// A template that names one must name a file that is there, whatever its role.
void check_initramfs_template(const ImageTemplate& t, TemplateRole role, Issues& issues) {
  const std::string key = "systemConfig.initramfs.template";
  const bool set = t.system_config && t.system_config->initramfs && t.system_config->initramfs->template_path &&
                   !t.system_config->initramfs->template_path->empty();
  const bool iso = t.target && t.target->image_type == "iso";
  if (!set && iso && role == TemplateRole::kMerged) {
    issues.add(key, "is required for an iso image: it names the template of the live environment "
                    "(an imageType img template, relative to the template that sets it)");
  }
  if (!set) return;
  const fs::path path = initramfs_template_path(t);
  if (!fs::is_regular_file(path)) issues.add(key, "Failed to find the live environment's template '" + path.string() + "'");
}

void check_packages(const std::vector<std::string>& names, const std::string& path, Issues& issues) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!rules::is_package_name(names[i]))
      issues.add(path + "[" + std::to_string(i) + "]", "\"" + names[i] + "\" is not a valid package name");
  }
}

// Both paths are absolute and normalised.
bool is_within(const fs::path& path, const fs::path& root) {
  const fs::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

// The directory a relative `local` must stay under: the declaring template's
// directory, or its <os>/<dist> directory when it lives under <config_dir>/osv.
fs::path containment_root(const fs::path& declaring_dir, const ValidateOptions& options) {
  if (options.config_dir.empty()) return declaring_dir;
  const fs::path osv = fs::weakly_canonical(options.config_dir / "osv");
  if (!is_within(declaring_dir, osv)) return declaring_dir;
  fs::path root = osv;
  auto part = declaring_dir.begin();
  std::advance(part, std::distance(osv.begin(), osv.end()));
  for (int depth = 0; depth < 2 && part != declaring_dir.end(); ++depth, ++part) root /= *part;
  return root;
}

void check_additional_files(const ImageTemplate& t, const ValidateOptions& options, Issues& issues) {
  if (!t.system_config) return;
  const auto& files = t.system_config->additional_files;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const AdditionalFile& f = files[i];
    const std::string path = "systemConfig.additionalFiles[" + std::to_string(i) + "].local";
    const fs::path declared_in = f.declared_in.empty() ? t.source : f.declared_in;
    const std::string origin = " (declared in '" + declared_in.string() + "')";
    fs::path local = f.local;
    if (local.is_relative()) {
      const fs::path base = fs::weakly_canonical(fs::absolute(declared_in).parent_path());
      local = fs::weakly_canonical(base / local);
      const fs::path root = containment_root(base, options);
      if (!is_within(local, root)) {
        issues.add(path, "\"" + f.local + "\" leaves '" + root.string() + "'" + origin +
                             "; use a path inside it or an absolute path");
        continue;
      }
    }
    if (!fs::exists(local))
      issues.add(path, "Failed to find additional file '" + local.string() + "'" + origin);
  }
}

void check_users(const std::vector<User>& users, Issues& issues) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < users.size(); ++i) {
    const User& u = users[i];
    const std::string path = "systemConfig.users[" + std::to_string(i) + "]";
    if (!rules::is_user_name(u.name))
      issues.add(path + ".name", "\"" + u.name + "\" is not a valid user name; expected "
                                 "^[a-z_][a-z0-9_-]*[$]?$, at most 32 characters");
    if (!names.insert(u.name).second) issues.add(path + ".name", "duplicate user \"" + u.name + "\"");
    if (u.hash_algo && !rules::is_one_of(*u.hash_algo, rules::kHashAlgos))
      issues.add(path + ".hash_algo", "\"" + *u.hash_algo + "\" is not allowed; expected " +
                                          rules::describe(rules::kHashAlgos));
    if (!u.password || !u.password->starts_with("$")) continue;
    if (!rules::is_crypt_hash(*u.password))
      issues.add(path + ".password", "starts with '$' but is not a crypt hash; expected $1$, $5$, $6$, "
                                     "$2b$ or $y$ form, or a plain password");
    if (u.hash_algo)
      issues.add(path + ".hash_algo", "must be absent when the password is already hashed");
  }
}

}  // namespace

std::vector<Issue> check_template(const ImageTemplate& t, const ValidateOptions& options, TemplateRole role) {
  Issues issues(t.marks, t.source.string());
  check_required(t, role, issues);
  check_target_exists(t, options, issues);
  check_initramfs_template(t, role, issues);
  issues.append(check_partitions(t));
  if (t.system_config) {
    const SystemConfig& sc = *t.system_config;
    check_packages(sc.packages, "systemConfig.packages", issues);
    if (sc.kernel) check_packages(sc.kernel->packages, "systemConfig.kernel.packages", issues);
    check_users(sc.users, issues);
  }
  check_additional_files(t, options, issues);
  return issues.list();
}

void validate_template(const ImageTemplate& t, const ValidateOptions& options, TemplateRole role) {
  Issues issues(t.marks, t.source.string());
  issues.append(check_template(t, options, role));
  issues.throw_if_any(role == TemplateRole::kMerged ? "Invalid merged template" : "Invalid template");
}

}  // namespace config
