// Directories of the supervisor's own that other users of the machine must
// not enter: the cache root and the saved build environments (setuid files
// of an image live there, docs/fetching-and-cache.md "Who can read the cache").
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace supervisor {

// Creates `dir` (its parents as needed, `dir` itself with mode `allowed`) or,
// when it exists, takes away every permission bit outside `allowed` (0700,
// or e.g. 0711 where other ids only need to pass through). Returns a warning
// naming the directory and both modes when an existing one was tightened.
// Throws base::Error when `dir` is not a directory or cannot be changed.
std::optional<std::string> make_private_dir(const std::filesystem::path& dir, mode_t allowed = 0700);

}  // namespace supervisor
