// What `inspect` and `compare` share: an image opened read-only (a regular
// file, never a device or FIFO) and read by stage-inspector in its sandbox,
// and one line of the image's untrusted text made printable. A qcow2 image
// (its first 4 bytes "QFI\xfb", the only thing of it read here) is first
// made raw by stage-inspector in its sandbox, into an unlinked temporary
// file in the temporary directory, and then read as that raw disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
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

// True when the file `fd` starts with qcow2's magic "QFI\xfb".
bool is_qcow2(int fd);

// An image as a raw disk, opened read-only: the file itself, or the raw disk
// of a qcow2 image (an unlinked temporary file).
struct RawImage {
  std::filesystem::path path;  // as the user named it
  base::UniqueFd fd;
  bool from_qcow2 = false;
};

// Opens each of `images` (open_image) and converts the qcow2 ones, side by
// side, each in its own stage-inspector run.
std::vector<RawImage> raw_images(const Invocation& inv, const std::vector<std::filesystem::path>& images);

// One stage-inspector per raw image, run side by side; the reports in the images' order.
std::vector<stage::inspector::Report> run_inspectors(const Invocation& inv, const std::vector<RawImage>& images,
                                                     const InspectorAsk& ask);

// Runs stage-inspector on `image` and returns its decoded report.
stage::inspector::Report run_inspector(const Invocation& inv, const std::filesystem::path& image,
                                       const InspectorAsk& ask);

// One stage-inspector per image, run side by side; the reports in the images' order.
std::vector<stage::inspector::Report> run_inspectors(const Invocation& inv,
                                                     const std::vector<std::filesystem::path>& images,
                                                     const InspectorAsk& ask);

// SHA-256 of each partition's bytes of `raw` (of `image_size` bytes) by
// partition index, where the report's LBA range lies inside the image (the
// stage checked it; the supervisor does not take its word).
std::map<std::uint32_t, std::string> hash_partitions(const stage::inspector::Report& report, std::uint64_t image_size,
                                                     const RawImage& raw);

// One line of image text: printable, newlines shown as escapes.
std::string shown(const std::string& text);

}  // namespace supervisor::cli
