#include "config/initramfs.hpp"

#include "base/error.hpp"

namespace config {

namespace fs = std::filesystem;

fs::path initramfs_template_path(const ImageTemplate& iso) {
  const bool set = iso.system_config && iso.system_config->initramfs &&
                   iso.system_config->initramfs->template_path && !iso.system_config->initramfs->template_path->empty();
  if (!set) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "'" + iso.source.string() + "': an iso image needs systemConfig.initramfs.template, "
                     "the template of its live environment (an imageType img template)");
  }
  const Initramfs& initramfs = *iso.system_config->initramfs;
  const fs::path named(*initramfs.template_path);
  if (named.is_absolute()) return named;
  const fs::path declared = initramfs.declared_in.empty() ? iso.source : initramfs.declared_in;
  return fs::absolute(declared).parent_path() / named;
}

LoadedTemplate load_live_template(const ImageTemplate& iso, const LoadOptions& options) {
  const fs::path path = initramfs_template_path(iso);
  const fs::path declared = iso.system_config->initramfs->declared_in;
  base::ErrorContext ctx{"loading the live environment's template (systemConfig.initramfs.template of '" +
                             (declared.empty() ? iso.source : declared).string() + "')",
                         path.string()};
  if (!fs::is_regular_file(path)) {
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to find the template '" + path.string() + "'");
  }
  // Its kind first: a raw template's problems as a raw image would not say what is wrong.
  const LoadedTemplate user = load_user_template(path, options);
  const std::string type = user.tmpl.target->image_type.value_or("");
  if (type != "img") {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "'" + path.string() + "' has imageType '" + type + "'; a live environment must be imageType img");
  }
  return load_merged_template(path, options);
}

}  // namespace config
