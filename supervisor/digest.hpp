// SHA-256 as lower-case hex, of bytes in memory or of a file's content.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace supervisor {

std::string sha256_hex(std::string_view data);

// Streams the file; an unreadable file is an ipc::Error naming it.
std::string sha256_of_file(const std::filesystem::path& path);

}  // namespace supervisor
