#include "stages/isomaker/initrd.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>

#include "base/error.hpp"
#include "base/openat2.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/isomaker/output_files.hpp"
#include "stages/isomaker/tree_paths.hpp"
#include "stages/isomaker/tree_walk.hpp"

namespace stage::isomaker {
namespace {

using base::UniqueFd;

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
using Archive = std::unique_ptr<archive, ArchiveDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

void check_archive(archive* a, int rc, const std::string& what) {
  if (rc < ARCHIVE_WARN) {
    base::fail(base::ErrorKind::kFailed, "Failed to " + what + ": " +
                                             (archive_error_string(a) ? archive_error_string(a) : "libarchive error"));
  }
}

// The kernel's xz decoder knows only CRC32 checks; libarchive's own xz
// filter writes CRC64, so xz goes through the host's xz.
void add_filter(archive* a, Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      check_archive(a, archive_write_add_filter_gzip(a), "set up gzip");
      check_archive(a, archive_write_set_filter_option(a, "gzip", "timestamp", nullptr), "leave out gzip's time");
      return;
    case Compression::kZstd: check_archive(a, archive_write_add_filter_zstd(a), "set up zstd"); return;
    case Compression::kXz: {
      const std::string xz = diskmaker::find_tool("xz").string();
      check_archive(a, archive_write_add_filter_program(a, (xz + " --check=crc32 --threads=1 -c").c_str()),
                    "set up xz");
      return;
    }
    case Compression::kNone: return;
  }
}

// Inode numbers counted from 1 in archive order; the links of one file share
// the number of its first entry, which alone carries the data.
struct Numbering {
  std::map<std::pair<dev_t, ino_t>, std::pair<std::uint64_t, unsigned>> links;  // -> (number, entries)
  std::uint64_t next = 1;
};

bool is_linked_file(const struct stat& st) { return S_ISREG(st.st_mode) && st.st_nlink > 1; }

Numbering count_links(const std::vector<TreeEntry>& entries) {
  Numbering numbering;
  for (const auto& e : entries) {
    if (is_linked_file(e.st)) ++numbering.links[{e.st.st_dev, e.st.st_ino}].second;
  }
  return numbering;
}

UniqueFd open_beneath(int tree_fd, const std::string& path) {
  open_how how{};
  how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
  return UniqueFd(static_cast<int>(
      base::check_syscall(base::openat2_retrying(tree_fd, path.c_str(), how), "open", "/" + path)));
}

void write_data(archive* a, int tree_fd, const TreeEntry& e) {
  const UniqueFd fd = open_beneath(tree_fd, e.path);
  std::array<char, 1 << 16> buffer;
  auto left = static_cast<std::uint64_t>(e.st.st_size);
  while (left > 0) {
    const ssize_t n = ::read(fd.get(), buffer.data(), std::min<std::uint64_t>(left, buffer.size()));
    base::check_syscall(n, "read", "/" + e.path);
    base::check(n > 0, "/" + e.path + " became shorter while it was read");
    if (archive_write_data(a, buffer.data(), static_cast<std::size_t>(n)) < 0) {
      check_archive(a, ARCHIVE_FATAL, "write /" + e.path);
    }
    left -= static_cast<std::uint64_t>(n);
  }
}

std::string link_target(int tree_fd, const TreeEntry& e) {
  std::string target(static_cast<std::size_t>(e.st.st_size) + 1, '\0');
  const ssize_t n = base::check_syscall(::readlinkat(tree_fd, e.path.c_str(), target.data(), target.size()),
                                        "read the link", "/" + e.path);
  target.resize(static_cast<std::size_t>(n));
  return target;
}

void write_entry(archive* a, int tree_fd, const TreeEntry& e, std::int64_t clamp, Numbering& numbering) {
  Entry entry(archive_entry_new());
  archive_entry_copy_stat(entry.get(), &e.st);
  archive_entry_set_pathname(entry.get(), e.path.c_str());
  archive_entry_set_mtime(entry.get(), clamp >= 0 ? std::min<std::int64_t>(e.st.st_mtime, clamp) : e.st.st_mtime, 0);
  archive_entry_unset_atime(entry.get());
  archive_entry_unset_ctime(entry.get());
  archive_entry_set_dev(entry.get(), 0);
  bool carries_data = S_ISREG(e.st.st_mode);
  if (is_linked_file(e.st)) {
    auto& [number, count] = numbering.links[{e.st.st_dev, e.st.st_ino}];
    carries_data = number == 0;
    if (number == 0) number = numbering.next++;
    archive_entry_set_ino64(entry.get(), static_cast<la_int64_t>(number));
    archive_entry_set_nlink(entry.get(), count);
  } else {
    archive_entry_set_ino64(entry.get(), static_cast<la_int64_t>(numbering.next++));
    if (!S_ISDIR(e.st.st_mode)) archive_entry_set_nlink(entry.get(), 1);
  }
  if (S_ISLNK(e.st.st_mode)) archive_entry_set_symlink(entry.get(), link_target(tree_fd, e).c_str());
  if (S_ISREG(e.st.st_mode) && !carries_data) archive_entry_set_size(entry.get(), 0);
  if (!S_ISREG(e.st.st_mode) && !S_ISLNK(e.st.st_mode)) archive_entry_set_size(entry.get(), 0);
  check_archive(a, archive_write_header(a, entry.get()), "write the header of /" + e.path);
  if (carries_data) write_data(a, tree_fd, e);
}

// "init" -> "sbin/init", owned by root, as old as the clamp (or the epoch).
TreeEntry init_link(std::int64_t clamp) {
  TreeEntry init{"init", {}};
  init.st.st_mode = S_IFLNK | 0777;
  init.st.st_nlink = 1;
  init.st.st_size = static_cast<off_t>(std::string_view("sbin/init").size());
  init.st.st_mtime = clamp >= 0 ? clamp : 0;
  return init;
}

void write_init_link(archive* a, const TreeEntry& init, Numbering& numbering) {
  Entry entry(archive_entry_new());
  archive_entry_copy_stat(entry.get(), &init.st);
  archive_entry_set_pathname(entry.get(), init.path.c_str());
  archive_entry_set_symlink(entry.get(), "sbin/init");
  archive_entry_unset_atime(entry.get());
  archive_entry_unset_ctime(entry.get());
  archive_entry_set_ino64(entry.get(), static_cast<la_int64_t>(numbering.next++));
  check_archive(a, archive_write_header(a, entry.get()), "write the header of /init");
}

}  // namespace

void check_initrd_spec(const InitrdSpec& spec) {
  require_file_name(spec.output_name, "the initrd's outputName");
  base::require(spec.kernel_path.starts_with('/'), "kernelPath '" + spec.kernel_path + "' is not an absolute path");
  (void)normalize_excluded(spec.excluded_paths);
  if (spec.compression == Compression::kXz) (void)diskmaker::find_tool("xz");
}

WrittenFile write_initrd(int tree_fd, const InitrdSpec& spec, PendingOutputs& outputs) {
  const std::vector<TreeEntry> entries = walk_tree(tree_fd, spec.excluded_paths);
  const bool has_init =
      std::any_of(entries.begin(), entries.end(), [](const TreeEntry& e) { return e.path == "init"; });
  base::require(has_init || exists_in_tree(tree_fd, "/sbin/init"),
                "the tree has neither /init nor /sbin/init: the initrd would have nothing to run");
  const int fd = outputs.create(spec.output_name);
  Archive a(archive_write_new());
  check_archive(a.get(), archive_write_set_format_cpio_newc(a.get()), "select the newc cpio format");
  add_filter(a.get(), spec.compression);
  check_archive(a.get(), archive_write_set_bytes_in_last_block(a.get(), 1), "set the last block");
  check_archive(a.get(), archive_write_open_fd(a.get(), fd), "start the initrd");
  Numbering numbering = count_links(entries);
  const TreeEntry init = init_link(spec.clamp_time);
  bool init_written = has_init;
  for (const auto& e : entries) {
    if (!init_written && init.path < e.path) {
      write_init_link(a.get(), init, numbering);
      init_written = true;
    }
    write_entry(a.get(), tree_fd, e, spec.clamp_time, numbering);
  }
  if (!init_written) write_init_link(a.get(), init, numbering);
  check_archive(a.get(), archive_write_close(a.get()), "finish the initrd");
  return outputs.finish(spec.output_name);
}

WrittenFile copy_kernel(int tree_fd, const std::string& kernel_path, PendingOutputs& outputs) {
  const UniqueFd in = open_in_tree(tree_fd, kernel_path, O_RDONLY, "kernelPath");
  struct stat st {};
  base::check_syscall(::fstat(in.get(), &st), "stat", kernel_path);
  base::require(S_ISREG(st.st_mode), "kernelPath '" + kernel_path + "' is not a regular file in the tree");
  const std::string name = kernel_path.substr(kernel_path.rfind('/') + 1);
  require_file_name(name, "the kernel's file name");
  const int out = outputs.create(name);
  for (off_t done = 0; done < st.st_size;) {
    const ssize_t n = base::check_syscall(
        ::sendfile(out, in.get(), &done, static_cast<std::size_t>(st.st_size - done)), "copy the kernel", kernel_path);
    base::check(n > 0, "the kernel " + kernel_path + " became shorter while it was copied");
  }
  return outputs.finish(name);
}

}  // namespace stage::isomaker
