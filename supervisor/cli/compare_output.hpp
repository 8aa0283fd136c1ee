// How `compare` prints its verdict and differences (image_diff.hpp): for
// people (text) or as one JSON document, by --mode (diff, summary, full,
// spdx); every string from an image made printable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "stages/inspector/report.hpp"
#include "supervisor/cli/image_diff.hpp"

namespace supervisor::cli {

// One compared image: its path, size, SHA-256 (--hash-images) and report (when read).
struct ComparedImage {
  std::filesystem::path path;
  std::uint64_t size = 0;
  std::optional<std::string> sha256;
  std::optional<stage::inspector::Report> report;
};

void print_compare_text(std::ostream& out, const std::string& mode, const ComparedImage& a, const ComparedImage& b,
                        const std::vector<Change>& changes, Equality equality);

nlohmann::json compare_json(const std::string& mode, const ComparedImage& a, const ComparedImage& b,
                            const std::vector<Change>& changes, Equality equality);

}  // namespace supervisor::cli
