#include "stages/diskmaker/verity.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "base/dir_entries.hpp"
#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/partition_table.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

const PartitionSpec& find_partition(const DiskLayout& layout, const std::string& id, std::string_view role) {
  const auto it = std::find_if(layout.partitions.begin(), layout.partitions.end(),
                               [&](const PartitionSpec& p) { return p.id == id; });
  base::require(it != layout.partitions.end(),
                "Failed to accept the dm-verity request: its " + std::string(role) + " partition '" + id +
                    "' is not in the layout");
  return *it;
}

bool is_hex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string read_all(int fd, const std::string& name) {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", name);
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
}

// Rewrites `name` in `dir_fd` as a new file with `bytes` and the old mode.
void rewrite(int dir_fd, const std::string& name, const std::string& bytes, mode_t mode, const std::string& shown) {
  const std::string temp = "." + name + ".verity";
  ::unlinkat(dir_fd, temp.c_str(), 0);
  UniqueFd out(base::check_syscall(
      ::openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777),
      "create", shown + ".verity"));
  base::write_all(out.get(), bytes, shown);
  base::check_syscall(::fchmod(out.get(), mode & 07777), "chmod", shown);
  base::check_syscall(::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()), "replace", shown);
}

// Patches one regular file; true when it held the placeholder.
bool patch_file(int dir_fd, const std::string& name, std::string_view placeholder, const std::string& root_hash,
                const std::string& shown) {
  UniqueFd in(base::check_syscall(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open", shown));
  struct stat st{};
  base::check_syscall(::fstat(in.get(), &st), "stat", shown);
  std::string bytes = read_all(in.get(), shown);
  const std::size_t at = bytes.find(placeholder);
  if (at == std::string::npos) return false;
  base::require(bytes.find(placeholder, at + 1) == std::string::npos,
                "Failed to put the dm-verity root hash into '" + shown +
                    "': it holds the root hash placeholder more than once");
  bytes.replace(at, placeholder.size(), root_hash);
  rewrite(dir_fd, name, bytes, st.st_mode, shown);
  return true;
}

void patch_dir(int dir_fd, const std::string& prefix, std::string_view placeholder, const std::string& root_hash,
               std::vector<std::string>& changed) {
  for (const std::string& name : base::sorted_entry_names(dir_fd, prefix.empty() ? "the ESP" : prefix)) {
    const std::string shown = prefix.empty() ? name : prefix + "/" + name;
    struct stat st{};
    base::check_syscall(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "stat", shown);
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(base::check_syscall(
          ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", shown));
      patch_dir(sub.get(), shown, placeholder, root_hash, changed);
    } else if (S_ISREG(st.st_mode) && patch_file(dir_fd, name, placeholder, root_hash, shown)) {
      changed.push_back(shown);
    }
  }
}

}  // namespace

void check_verity(const VeritySpec& verity, const DiskLayout& layout) {
  base::require(layout.table == TableType::kGpt,
                "Failed to accept the dm-verity request: it needs a GPT partition table (the kernel command line "
                "names the root's partitions by PARTUUID)");
  base::require(verity.data_id != verity.hash_id,
                "Failed to accept the dm-verity request: data and hash partition are both '" + verity.data_id + "'");
  const PartitionSpec& data = find_partition(layout, verity.data_id, "data");
  const PartitionSpec& hash = find_partition(layout, verity.hash_id, "hash");
  base::require(data.mount_point == "/" && fs_kind(data.fs_type, data.id) == FsKind::kExt,
                "Failed to accept the dm-verity request: its data partition '" + data.id +
                    "' must be the ext file system mounted at /");
  base::require(!is_mounted(hash) && fs_kind(hash.fs_type, hash.id) == FsKind::kNone,
                "Failed to accept the dm-verity request: its hash partition '" + hash.id +
                    "' must be unmounted and have no file system (fsType none)");
}

std::vector<std::string> veritysetup_format_argv(const PartitionSpec& data, const PartitionSpec& hash,
                                                 const std::string& data_path, const std::string& hash_path) {
  std::string salt;
  for (const char c : data.fs_uuid) {
    if (std::isxdigit(static_cast<unsigned char>(c))) salt += static_cast<char>(std::tolower(c));
  }
  base::require(salt.size() == 32 && is_uuid(hash.part_uuid),
                "Failed to accept the dm-verity request: partitions '" + data.id + "' and '" + hash.id +
                    "' need a file system UUID and a partition UUID");
  return {"veritysetup", "format", "--hash=sha256", "--data-block-size=4096", "--hash-block-size=4096",
          "--salt=" + salt, "--uuid=" + hash.part_uuid, data_path, hash_path};
}

std::string parse_root_hash(std::string_view output) {
  std::istringstream lines{std::string(output)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("Root hash:")) continue;
    std::string value = line.substr(std::string_view("Root hash:").size());
    value.erase(std::remove_if(value.begin(), value.end(), [](unsigned char c) { return std::isspace(c); }),
                value.end());
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    base::check(value.size() == 64 && is_hex(value),
                "Failed to read veritysetup's root hash: '" + value + "' is not 64 hex digits");
    return value;
  }
  throw base::Error(base::ErrorKind::kFailed, "Failed to read veritysetup's root hash: its output has no "
                                              "'Root hash:' line");
}

std::vector<std::string> replace_root_hash_placeholder(int dir_fd, std::string_view placeholder,
                                                       const std::string& root_hash) {
  base::check(placeholder.size() == root_hash.size() && !placeholder.empty(),
              "the root hash and its placeholder differ in length");
  std::vector<std::string> changed;
  patch_dir(dir_fd, "", placeholder, root_hash, changed);
  return changed;
}

}  // namespace stage::diskmaker
