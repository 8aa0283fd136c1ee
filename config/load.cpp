#include "config/load.hpp"

#include "config/defaults.hpp"
#include "config/merge.hpp"
#include "config/template_parser.hpp"
#include "config/validate.hpp"
#include "base/error.hpp"

namespace config {

LoadedTemplate load_user_template(const std::filesystem::path& path, const LoadOptions& options) {
  LoadedTemplate loaded;
  loaded.tmpl = parse_template_file(path);
  validate_template(loaded.tmpl, ValidateOptions{options.config_dir}, TemplateRole::kUser);
  return loaded;
}

LoadedTemplate load_merged_template(const std::filesystem::path& path, const LoadOptions& options) {
  LoadedTemplate user = load_user_template(path, options);
  // The user check above found the default for this target, so it exists.
  const std::filesystem::path default_path = default_template_path(options.config_dir, *user.tmpl.target);
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
  loaded.default_path = default_path;
  return loaded;
}

}  // namespace config
