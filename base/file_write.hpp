// Writing whole files: write(2) may return after part of the data or fail
// with EINTR, and a file written in place can be seen half-made.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace base {

// Writes all of `data` to `fd`, again after EINTR and after a short write.
// A failure is an base::Error "Failed to write '<shown>'" with errno.
void write_all(int fd, std::string_view data, std::string_view shown);

// Makes `name` in the directory `dir_fd` hold `content` with `mode`: written
// under ".<name>.tmp" beside it, synced, then renamed over `name`, so a
// reader sees the old file or the whole new one, never a part. One writer
// per name: two at once would share the temporary name.
void write_file_atomically(int dir_fd, std::string_view name, std::string_view content, mode_t mode);

// The same for a path several processes may write at once: each writes
// under a private temporary name beside it (mkostemp), removed on any
// failure, then renames it over `path`.
void write_file_replacing(const std::string& path, std::string_view content, mode_t mode);

// std::filesystem::create_directories with an error that names the directory
// and the reason ("Failed to create directory '<dir>': Not a directory"), not
// the library's bare "filesystem error".
void make_directories(const std::filesystem::path& dir);

}  // namespace base
