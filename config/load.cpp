#include "config/load.hpp"

#include <optional>

#include "config/defaults.hpp"
#include "config/merge.hpp"
#include "config/template_parser.hpp"
#include "config/unbuilt_keys.hpp"
#include "config/validate.hpp"
#include "base/error.hpp"

namespace config {
namespace fs = std::filesystem;
namespace {

// The OS default for `t`'s target, when the config dir holds one.
std::optional<fs::path> existing_default(const ImageTemplate& t, const LoadOptions& options) {
  if (!t.target || options.config_dir.empty()) return std::nullopt;
  const Target& target = *t.target;
  if (!target.os || !target.dist || !target.arch || !target.image_type) return std::nullopt;
  fs::path path = default_template_path(options.config_dir, target);
  if (!fs::is_regular_file(path)) return std::nullopt;
  return path;
}

}  // namespace

LoadedTemplate load_user_template(const fs::path& path, const LoadOptions& options) {
  LoadedTemplate loaded;
  loaded.tmpl = parse_template_file(path);
  // Its additional files are looked for beside the default too, as after merging.
  if (const auto defaults = existing_default(loaded.tmpl, options)) set_merge_chain(loaded.tmpl, {*defaults, path});
  validate_template(loaded.tmpl, ValidateOptions{options.config_dir}, TemplateRole::kUser);
  loaded.warnings = additional_file_warnings(loaded.tmpl, ValidateOptions{options.config_dir});
  for (std::string& w : unbuilt_keys(loaded.tmpl)) loaded.warnings.push_back("build would refuse " + std::move(w));
  return loaded;
}

LoadedTemplate load_merged_template(const fs::path& path, const LoadOptions& options) {
  LoadedTemplate user = load_user_template(path, options);
  // The user check above found the default for this target, so it exists.
  const fs::path default_path = default_template_path(options.config_dir, *user.tmpl.target);
  ImageTemplate defaults;
  {
    base::ErrorContext ctx{"loading the default template", default_path.string()};
    defaults = parse_template_file(default_path);
    validate_template(defaults, ValidateOptions{options.config_dir}, TemplateRole::kDefault);
  }
  MergeResult merged = merge_templates(defaults, user.tmpl);
  validate_template(merged.merged, ValidateOptions{options.config_dir}, TemplateRole::kMerged);
  LoadedTemplate loaded;
  loaded.tmpl = std::move(merged.merged);
  loaded.warnings = std::move(merged.warnings);
  for (std::string& w : additional_file_warnings(loaded.tmpl, ValidateOptions{options.config_dir}))
    loaded.warnings.push_back(std::move(w));
  for (std::string& w : unbuilt_keys(loaded.tmpl)) loaded.warnings.push_back("build would refuse " + std::move(w));
  loaded.default_path = default_path;
  return loaded;
}

}  // namespace config
