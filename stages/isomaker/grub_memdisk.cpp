#include "stages/isomaker/grub_memdisk.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

#include "base/error.hpp"

namespace stage::isomaker {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

void check(archive* a, int status, const std::string& path, const std::string& what) {
  if (status < ARCHIVE_OK) {
    const char* reason = archive_error_string(a);
    base::fail(base::ErrorKind::kFailed, "Failed to write the GRUB memdisk '" + path + "': " + what + ": " +
               (reason != nullptr ? reason : "libarchive failed"));
  }
}

void add_entry(archive* a, const std::string& path, const std::string& name, mode_t type_and_mode,
               const std::string& data) {
  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), type_and_mode & S_IFMT);
  archive_entry_set_perm(entry.get(), type_and_mode & 07777);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), 0, 0);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  check(a, archive_write_header(a, entry.get()), path, "the header of " + name);
  if (!data.empty() && archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
    check(a, ARCHIVE_FATAL, path, "the data of " + name);
  }
}

}  // namespace

void write_menu_memdisk(const std::string& path, const std::string& grub_cfg) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  check(a.get(), archive_write_set_format_ustar(a.get()), path, "select the ustar format");
  check(a.get(), archive_write_open_filename(a.get(), path.c_str()), path, "create it");
  add_entry(a.get(), path, "boot/", S_IFDIR | 0755, "");
  add_entry(a.get(), path, "boot/grub/", S_IFDIR | 0755, "");
  add_entry(a.get(), path, "boot/grub/grub.cfg", S_IFREG | 0644, grub_cfg);
  check(a.get(), archive_write_close(a.get()), path, "finish it");
}

}  // namespace stage::isomaker
