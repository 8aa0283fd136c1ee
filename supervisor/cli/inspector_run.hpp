// What `inspect` and `compare` share: an image opened read-only (a regular
// file, never a device or FIFO) and read by stage-inspector in its sandbox,
// and one line of the image's untrusted text made printable.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "stages/inspector/report.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {

// `image` opened read-only; not a regular file: kInvalidInput naming it.
base::UniqueFd open_image(const std::filesystem::path& image);

struct InspectorAsk {
  bool extract_sbom = false;  // the embedded SBOM's bytes
  bool list_files = false;    // every file of each ext2/3/4 and FAT partition
};

// Runs stage-inspector on `image` and returns its decoded report.
stage::inspector::Report run_inspector(const Invocation& inv, const std::filesystem::path& image,
                                       const InspectorAsk& ask);

// One stage-inspector per image, run side by side; the reports in the images' order.
std::vector<stage::inspector::Report> run_inspectors(const Invocation& inv,
                                                     const std::vector<std::filesystem::path>& images,
                                                     const InspectorAsk& ask);

// One line of image text: printable, newlines shown as escapes.
std::string shown(const std::string& text);

}  // namespace supervisor::cli
