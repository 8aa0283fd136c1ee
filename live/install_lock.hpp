// The live environment logs root in on every console (tty1 and the serial
// line), so one live-installer runs per console. The lock lets one of them
// install; the others wait, then report the outcome it recorded instead of
// writing the disk a second time.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "base/unique_fd.hpp"

namespace live {

// Takes the lock file in `run_dir` (created), waiting while another instance
// holds it; says so on `out` before waiting.
base::UniqueFd take_install_lock(const std::filesystem::path& run_dir, std::ostream& out);

// The result line an earlier instance recorded in `run_dir`, if any.
std::optional<std::string> recorded_outcome(const std::filesystem::path& run_dir);
void record_outcome(const std::filesystem::path& run_dir, const std::string& line);

}  // namespace live
