#include "config/validate.hpp"

#include <set>

#include "config/defaults.hpp"
#include "config/initramfs.hpp"
#include "config/merge.hpp"
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

std::string quoted_list(const std::vector<fs::path>& paths) {
  std::string text;
  for (const fs::path& p : paths) text += (text.empty() ? "'" : ", '") + p.string() + "'";
  return text;
}

// The directories `build` takes additional files from without
// --allow-outside-files: the template's own and its target's OS data
// directory (supervisor/build/additional_files.hpp).
std::vector<fs::path> build_file_roots(const ImageTemplate& t, const ValidateOptions& options) {
  std::vector<fs::path> roots{fs::weakly_canonical(fs::absolute(t.source).parent_path())};
  if (!options.config_dir.empty() && t.target && t.target->os && t.target->dist)
    roots.push_back(fs::weakly_canonical(fs::absolute(options.config_dir / "osv" / *t.target->os / *t.target->dist)));
  return roots;
}

// What `build` would say of one entry, or "" when it takes the file as it is.
std::string additional_file_warning(const AdditionalFile& f, const ImageTemplate& t,
                                    const std::vector<fs::path>& roots) {
  const fs::path declared_in = f.declared_in.empty() ? t.source : f.declared_in;
  const std::string entry = "'" + declared_in.string() + "': additionalFiles entry local '" + f.local +
                            "' (final '" + f.final + "')";
  const std::optional<fs::path> found = find_additional_file(f, t.source);
  if (!found) {
    return entry + ": Failed to find the file; looked for " + quoted_list(additional_file_candidates(f, t.source)) +
           "; build fails on it (the reference tool dropped such an entry silently)";
  }
  const fs::path real = fs::weakly_canonical(*found);
  for (const fs::path& root : roots) {
    if (is_within(real, root)) return "";
  }
  return entry + ": '" + real.string() + "' is outside " + quoted_list(roots) +
         "; build uses it only with --allow-outside-files";
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
  return issues.list();
}

std::vector<std::string> additional_file_warnings(const ImageTemplate& t, const ValidateOptions& options) {
  std::vector<std::string> warnings;
  if (!t.system_config) return warnings;
  const std::vector<fs::path> roots = build_file_roots(t, options);
  for (const AdditionalFile& f : t.system_config->additional_files) {
    std::string warning = additional_file_warning(f, t, roots);
    if (!warning.empty()) warnings.push_back(std::move(warning));
  }
  return warnings;
}

void validate_template(const ImageTemplate& t, const ValidateOptions& options, TemplateRole role) {
  Issues issues(t.marks, t.source.string());
  issues.append(check_template(t, options, role));
  issues.throw_if_any(role == TemplateRole::kMerged ? "Invalid merged template" : "Invalid template");
}

}  // namespace config
