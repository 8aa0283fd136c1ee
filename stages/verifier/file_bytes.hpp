// Whole-file reads for metadata that is read once and then only used from
// memory (so nothing can change between checking and using it).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace stage::verifier {

std::string read_file_bytes(const std::filesystem::path& file);
std::optional<std::string> read_file_bytes_if_exists(const std::filesystem::path& file);
// Reads `fd` from its current offset to the end; `what` names it in errors.
std::string read_fd_bytes(int fd, const std::string& what);

}  // namespace stage::verifier
