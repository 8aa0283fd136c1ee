#include "stages/diskmaker/tree_times.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "base/dir_entries.hpp"
#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/tools.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

bool later_than(const struct stat& st, std::int64_t time) {
  return st.st_mtim.tv_sec > time || (st.st_mtim.tv_sec == time && st.st_mtim.tv_nsec > 0);
}

void set_mtime(int dir_fd, const char* name, std::int64_t time, const std::string& shown) {
  const struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(time), 0}};
  base::check_syscall(::utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW), "set the mtime of", shown);
}

void clamp_entries(int dir_fd, const std::string& shown, std::int64_t time, int depth) {
  base::check(depth < 4096, "Failed to clamp the times under '" + shown + "': it nests too deep");
  for (const std::string& name : base::sorted_entry_names(dir_fd, shown)) {
    const std::string path = shown + "/" + name;
    struct stat st {};
    base::check_syscall(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "stat", path);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(base::check_syscall(
          ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", path));
      clamp_entries(sub.get(), path, time, depth + 1);
    }
    // After its entries: a directory's own mtime is not changed by utimensat on them.
    if (later_than(st, time)) set_mtime(dir_fd, name.c_str(), time, path);
  }
}

}  // namespace

std::optional<std::int64_t> source_date_epoch() {
  const char* text = std::getenv("SOURCE_DATE_EPOCH");
  if (text == nullptr || *text == '\0') return std::nullopt;
  const std::string_view value(text);
  std::int64_t seconds = -1;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  base::require(ec == std::errc() && end == value.data() + value.size() && seconds >= 0,
                "Invalid SOURCE_DATE_EPOCH '" + std::string(value) + "': it must be a number of seconds since 1970");
  return seconds;
}

void clamp_tree_mtimes(int dir_fd, const std::string& shown, std::int64_t time) {
  clamp_entries(dir_fd, shown, time, 0);
  struct stat st {};
  base::check_syscall(::fstat(dir_fd, &st), "stat", shown);
  if (later_than(st, time)) {
    const struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(time), 0}};
    base::check_syscall(::futimens(dir_fd, times), "set the mtime of", shown);
  }
}

std::vector<std::uint32_t> used_inodes(std::string_view output) {
  constexpr std::string_view kPrefix = "Inode ";
  constexpr std::string_view kInUse = " is marked in use";
  std::vector<std::uint32_t> inodes;
  while (!output.empty()) {
    const std::size_t eol = output.find('\n');
    const std::string_view line = output.substr(0, eol);
    output = eol == std::string_view::npos ? std::string_view() : output.substr(eol + 1);
    if (!line.starts_with(kPrefix) || !line.ends_with(kInUse)) continue;
    const std::string_view number = line.substr(kPrefix.size(), line.size() - kPrefix.size() - kInUse.size());
    std::uint32_t inode = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), inode);
    if (ec == std::errc() && end == number.data() + number.size()) inodes.push_back(inode);
  }
  return inodes;
}

std::string inode_times_script(const std::vector<std::uint32_t>& inodes, std::int64_t time) {
  const std::string at = " @" + std::to_string(time) + "\n";
  std::string script;
  for (const std::uint32_t inode : inodes) {
    const std::string spec = "sif <" + std::to_string(inode) + "> ";
    script += spec + "ctime" + at + spec + "atime" + at;
  }
  return script;
}

std::uint32_t ext_inode_count(int fd, std::uint64_t offset, const std::string& shown) {
  unsigned char bytes[4] = {};
  const ssize_t n = ::pread(fd, bytes, sizeof bytes, static_cast<off_t>(offset + 1024));
  base::check_syscall(n, "read the ext superblock of", shown);
  base::check(n == sizeof bytes, "Failed to read the ext superblock of " + shown + ": the file ends early");
  return bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<std::uint32_t>(bytes[3]) << 24);
}

void settle_ext_inode_times(const ExtImage& image, std::int64_t time) {
  const std::string shown = "the file system at offset " + std::to_string(image.offset) + " of " + image.path;
  const std::uint32_t count = ext_inode_count(image.fd, image.offset, shown);
  std::string probe;
  for (std::uint32_t inode = 1; inode <= count; ++inode) probe += "testi <" + std::to_string(inode) + ">\n";
  // debugfs names every inode: far more output than a tool's kept tail, so it goes to a file.
  const char* name = ".debugfs-testi";
  ::unlinkat(image.scratch_fd, name, 0);
  UniqueFd out(base::check_syscall(
      ::openat(image.scratch_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600), "create", name));
  ::unlinkat(image.scratch_fd, name, 0);
  const std::string spec = image.path + "?offset=" + std::to_string(image.offset);
  run_tool_checked({.argv = {"debugfs", "-f", "-", spec}, .input = probe, .stdout_fd = out.get(),
                    .inherit_fds = image.inherit_fds},
                   "list the inodes in use in " + shown);
  struct stat st {};
  base::check_syscall(::fstat(out.get(), &st), "stat", name);
  std::string listing(static_cast<std::size_t>(st.st_size), '\0');
  const ssize_t n = ::pread(out.get(), listing.data(), listing.size(), 0);
  base::check_syscall(n, "read", name);
  listing.resize(static_cast<std::size_t>(n));
  const std::vector<std::uint32_t> inodes = used_inodes(listing);
  base::check(!inodes.empty(), "Failed to list the inodes in use in " + shown + ": debugfs named none");
  run_tool_checked({.argv = {"debugfs", "-w", "-f", "-", spec}, .input = inode_times_script(inodes, time),
                    .stdout_fd = -1, .inherit_fds = image.inherit_fds},
                   "set the inode times of " + shown);
}

}  // namespace stage::diskmaker
