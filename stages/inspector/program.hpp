// The inspector's host programs (sfdisk, blkid, debugfs, mtools) run on the image
// through base::run_child: an argv vector, the image's fd at fd 3 (the
// program names it /dev/fd/3), stdout kept up to a cap (more kills the
// program), stderr's tail for messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/child_process.hpp"

namespace stage::inspector {

// The path a program is given for the image.
inline constexpr std::string_view kImagePath = "/dev/fd/3";

// debugfs's name for the file system at byte `offset` of the image.
std::string image_at(std::uint64_t offset);

// `program` in /usr/sbin or /usr/bin; a missing one is an error naming its Debian `package`.
std::filesystem::path find_program(std::string_view program, std::string_view package);

// Runs `argv` (argv[0] absolute) with `image_fd` as fd 3, PATH and LC_ALL=C,
// `input` on its stdin (else /dev/null). Throws only when it cannot start.
base::ChildOutcome run_program(const std::vector<std::string>& argv, int image_fd, std::size_t max_out,
                               std::optional<std::string> input = std::nullopt);

// "exited with status N: <the last lines of stderr>", for messages.
std::string failure_text(const base::ChildOutcome& run);

}  // namespace stage::inspector
