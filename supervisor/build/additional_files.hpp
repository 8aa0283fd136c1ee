// The files a template copies into the image (systemConfig.additionalFiles),
// opened once by the supervisor and handed to the installer as that fd. Only
// files inside the template's directory or the OS data directory
// (config/osv/<os>/<dist>) are used, reached without a symbolic link that
// leads out of them, unless the user allows outside files (build
// --allow-outside-files): a template from elsewhere must not copy the
// user's ~/.ssh keys or /etc/shadow into an image.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/template.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {

struct AdditionalFileRoots {
  std::vector<std::filesystem::path> dirs;  // absolute
  bool allow_outside = false;
};

// The template's directory and `os_data_dir`.
AdditionalFileRoots additional_file_roots(const config::ImageTemplate& image, const std::filesystem::path& os_data_dir,
                                          bool allow_outside);

struct OpenedAdditionalFile {
  base::UniqueFd fd;         // O_RDONLY, a regular file
  std::filesystem::path path;   // where it was found, links resolved
  mode_t mode = 0;
};

// Opens `source` (the entry's local path made absolute): beneath the root
// that holds it (RESOLVE_BENEATH: a link may not lead out), or anywhere when
// outside files are allowed. Throws base::Error (kInvalidInput) naming the
// file, the allowed directories and the flag.
OpenedAdditionalFile open_additional_file(const std::filesystem::path& source, const AdditionalFileRoots& roots);

// A file the build supplies from its own programs (an ISO's live
// environment gets /usr/bin/live-installer), never named by a template:
// trusted like the stage programs, so not held to the template's
// directories. Still opened once, without following a link, and refused
// unless it is a regular file.
struct SuppliedFile {
  std::filesystem::path source;  // absolute
  std::string destination;       // absolute path in the image
  mode_t mode = 0644;
};
OpenedAdditionalFile open_supplied_file(const SuppliedFile& file);

// Where `file` is: the first of its candidates that exists
// (config::additional_file_candidates). Throws base::Error (kInvalidInput)
// naming the entry, the template that declared it and every path tried.
std::filesystem::path require_additional_file(const config::AdditionalFile& file,
                                              const std::filesystem::path& template_path);

// Every additional file of `image` found and opened: refused before a build fetches anything.
void check_additional_files(const config::ImageTemplate& image, const AdditionalFileRoots& roots);

}  // namespace supervisor
