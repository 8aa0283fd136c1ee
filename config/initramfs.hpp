// The live environment of an ISO: the template named by
// systemConfig.initramfs.template, a path relative to the template file that
// declared it (the OS default's directory for the default's value, the
// user's for the user's).
#pragma once

#include <filesystem>

#include "config/load.hpp"
#include "config/template.hpp"

namespace config {

// The initramfs template of `iso` as a host path. Throws base::Error
// (kInvalidInput) naming `iso`'s file when the key is unset or empty.
std::filesystem::path initramfs_template_path(const ImageTemplate& iso);

// That template loaded and merged with its own OS default as a user
// template; it must be imageType img. Errors name the file and the ISO
// template that named it.
LoadedTemplate load_live_template(const ImageTemplate& iso, const LoadOptions& options);

}  // namespace config
