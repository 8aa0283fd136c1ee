#include "stages/verifier/deb/archive_check.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "stages/verifier/cores.hpp"

namespace stage::verifier {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

constexpr std::array<std::string_view, 4> kTarSuffixes = {"", ".gz", ".xz", ".zst"};

bool is_tar_member(std::string_view name, std::string_view stem) {
  for (const auto suffix : kTarSuffixes) {
    if (name == std::string(stem) + ".tar" + std::string(suffix)) return true;
  }
  return false;
}

// Streams one ar member into a nested libarchive reader.
struct NestedSource {
  archive* outer;
  std::array<char, 65536> buf;
};

la_ssize_t read_nested(archive*, void* client, const void** out) {
  auto* src = static_cast<NestedSource*>(client);
  *out = src->buf.data();
  return archive_read_data(src->outer, src->buf.data(), src->buf.size());
}

// Decodes an .xz ar member with liblzma's threaded decoder and hands the
// plain tar to libarchive. A kernel's data.tar.xz unpacks to ~400 MB in many
// xz blocks; libarchive's own xz filter decodes them on one core, and that
// walk is most of the time a package batch takes to verify.
class XzSource {
 public:
  explicit XzSource(archive* outer) : outer_(outer) {
    lzma_mt mt{};
    mt.threads = usable_cores();
    mt.memlimit_threading = kMemlimitThreading;
    mt.memlimit_stop = kMemlimitStop;
    const lzma_ret rc = lzma_stream_decoder_mt(&stream_, &mt);
    base::check(rc == LZMA_OK, "Failed to start the xz decoder (liblzma error " + std::to_string(rc) + ")");
  }
  XzSource(const XzSource&) = delete;
  XzSource& operator=(const XzSource&) = delete;
  ~XzSource() { lzma_end(&stream_); }

  static la_ssize_t read(archive* inner, void* client, const void** out) {
    return static_cast<XzSource*>(client)->read_some(inner, out);
  }
  // Why decoding stopped, if it did; libarchive may report its own
  // "truncated" message over the one this source set.
  const std::string& error() const noexcept { return error_; }

 private:
  // Threads may hold one block each in memory; past this the decoder runs
  // on fewer threads. Above kMemlimitStop an archive is refused outright.
  static constexpr std::uint64_t kMemlimitThreading = 512ULL << 20;
  static constexpr std::uint64_t kMemlimitStop = 2ULL << 30;

  la_ssize_t read_some(archive* inner, const void** out) {
    stream_.next_out = out_.data();
    stream_.avail_out = out_.size();
    while (!ended_ && stream_.avail_out > 0) {
      if (stream_.avail_in == 0 && !input_done_) {
        const la_ssize_t n = archive_read_data(outer_, in_.data(), in_.size());
        if (n < 0) {
          const char* why = archive_error_string(outer_);
          return fail(inner, why != nullptr ? why : "the ar member cannot be read");
        }
        input_done_ = n == 0;
        stream_.next_in = reinterpret_cast<const std::uint8_t*>(in_.data());
        stream_.avail_in = static_cast<std::size_t>(n);
      }
      const lzma_ret rc = lzma_code(&stream_, input_done_ ? LZMA_FINISH : LZMA_RUN);
      if (rc == LZMA_STREAM_END) {
        ended_ = true;
      } else if (rc != LZMA_OK) {
        return fail(inner, describe(rc));
      }
    }
    *out = out_.data();
    return static_cast<la_ssize_t>(out_.size() - stream_.avail_out);
  }

  static std::string describe(lzma_ret rc) {
    switch (rc) {
      case LZMA_BUF_ERROR: return "the xz data is truncated";
      case LZMA_FORMAT_ERROR: return "not xz data";
      case LZMA_DATA_ERROR: return "the xz data is corrupt";
      case LZMA_MEMLIMIT_ERROR: return "the xz data needs more than 2 GiB to decode";
      default: return "xz decoder error " + std::to_string(rc);
    }
  }

  la_ssize_t fail(archive* inner, const std::string& why) {
    error_ = why;
    archive_set_error(inner, EIO, "%s", why.c_str());
    return ARCHIVE_FATAL;
  }

  archive* outer_;
  lzma_stream stream_ = LZMA_STREAM_INIT;
  bool input_done_ = false;
  bool ended_ = false;
  std::string error_;
  std::array<char, 1 << 16> in_{};
  std::array<std::uint8_t, 1 << 17> out_{};
};

class TarChecker {
 public:
  TarChecker(std::string deb, std::string tar, bool control)
      : deb_(std::move(deb)), tar_(std::move(tar)), control_(control) {}

  void check(archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    if (raw == nullptr) reject("(unreadable)", "has a name that cannot be read");
    const std::string name = raw;
    const std::string path = normalize(name, name, "name");
    const char* hardlink = archive_entry_hardlink(entry);
    const auto type = archive_entry_filetype(entry);
    if (control_) check_control_member(name, path, hardlink, type);
    check_not_through_symlink(name, path, /*allow_self=*/false);
    if (hardlink != nullptr) {
      check_hardlink(name, hardlink);
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr || !is_valid_utf8(target)) {
        reject(name, "is a symlink whose target is missing or not valid UTF-8");
      }
      symlinks_.emplace(path, target);
    } else if (type == AE_IFREG) {
      regular_files_.insert(path);
    } else if (type != AE_IFDIR) {
      reject(name, "is a device node, FIFO or socket");
    }
  }

 private:
  [[noreturn]] void reject(std::string_view member, std::string_view why) const {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to check package '" + deb_ +
                                                 "': member '" + std::string(member) + "' of " +
                                                 tar_ + " " + std::string(why));
  }

  // "./usr//bin/./x" → "usr/bin/x"; refuses absolute paths, "..", bad bytes.
  // `what` says which path of the member this is, for the message.
  std::string normalize(std::string_view path, std::string_view member,
                        const std::string& what) const {
    if (!is_valid_utf8(path)) reject(member, "has a " + what + " that is not valid UTF-8");
    for (const char c : path) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        reject(member, "has a control character in its " + what);
      }
    }
    if (!path.empty() && path.front() == '/') reject(member, "has an absolute " + what);
    std::string out;
    std::size_t pos = 0;
    while (pos <= path.size()) {
      auto slash = path.find('/', pos);
      if (slash == std::string_view::npos) slash = path.size();
      const std::string_view part = path.substr(pos, slash - pos);
      pos = slash + 1;
      if (part.empty() || part == ".") continue;
      if (part == "..") reject(member, "has a '..' component in its " + what);
      out.append(out.empty() ? "" : "/").append(part);
    }
    return out;
  }

  // Writing below (or onto) an earlier symlink would follow it wherever it
  // points; a package never needs that, so any such member is refused.
  void check_not_through_symlink(std::string_view member, const std::string& path,
                                 bool allow_self) const {
    for (auto slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      if (auto it = symlinks_.find(path.substr(0, slash)); it != symlinks_.end()) {
        reject(member, "escapes through the symlink '" + it->first + "' -> '" + it->second +
                           "' earlier in the archive");
      }
    }
    if (auto it = symlinks_.find(path); !allow_self && it != symlinks_.end()) {
      reject(member, "replaces the symlink '" + it->first + "' -> '" + it->second +
                         "' earlier in the archive");
    }
  }

  void check_hardlink(std::string_view member, std::string_view target) const {
    const std::string path =
        normalize(target, member, "hardlink target '" + std::string(target) + "'");
    check_not_through_symlink(member, path, /*allow_self=*/false);
    if (!regular_files_.contains(path)) {
      reject(member, "is a hardlink to '" + std::string(target) +
                         "', which is not an earlier regular file of the archive");
    }
  }

  void check_control_member(std::string_view member, const std::string& path,
                            const char* hardlink, mode_t type) const {
    if (type == AE_IFDIR && path.empty()) return;  // the "./" entry
    if (hardlink != nullptr || type != AE_IFREG || path.find('/') != std::string::npos) {
      reject(member, "is not a regular file at the top of the control archive");
    }
  }

  std::string deb_;
  std::string tar_;
  bool control_;
  std::map<std::string, std::string> symlinks_;  // normalized path → target
  std::set<std::string> regular_files_;
};

void check_tar(archive* outer, const std::string& deb, const std::string& tar, bool control) {
  ArchivePtr inner(archive_read_new());
  base::check(inner != nullptr, "Failed to allocate a libarchive reader");
  const bool xz = tar.ends_with(".xz");
  if (!xz) {
    archive_read_support_filter_gzip(inner.get());
    archive_read_support_filter_zstd(inner.get());
  }
  archive_read_support_format_tar(inner.get());
  auto source = std::make_unique<NestedSource>();
  source->outer = outer;
  std::unique_ptr<XzSource> xz_source = xz ? std::make_unique<XzSource>(outer) : nullptr;
  auto fail_read = [&](std::string_view what) {
    const char* libarchive_says = archive_error_string(inner.get());
    const std::string why = xz_source && !xz_source->error().empty() ? xz_source->error()
                            : libarchive_says                        ? libarchive_says
                                                                     : "unknown error";
    base::fail(base::ErrorKind::kInvalidInput, "Failed to check package '" + deb + "': cannot read " + tar +
                                                 " (" + std::string(what) + "): " + why);
  };
  const int opened = xz ? archive_read_open(inner.get(), xz_source.get(), nullptr, XzSource::read, nullptr)
                       : archive_read_open(inner.get(), source.get(), nullptr, read_nested, nullptr);
  if (opened != ARCHIVE_OK) {
    fail_read("open");
  }
  TarChecker checker(deb, tar, control);
  archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(inner.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) fail_read("header");
    checker.check(entry);
    if (archive_read_data_skip(inner.get()) != ARCHIVE_OK) fail_read("data");
  }
}

std::string read_small_member(archive* a, std::string_view deb) {
  std::array<char, 64> buf{};
  const la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
  base::require(n > 0 && n < static_cast<la_ssize_t>(buf.size()),
               "Failed to check package '" + std::string(deb) +
                   "': debian-binary is empty or too long");
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::array<std::uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

namespace {

template <typename Open>
ArchivePtr open_ar(const std::string& deb, Open open) {
  ArchivePtr a(archive_read_new());
  base::check(a != nullptr, "Failed to allocate a libarchive reader");
  archive_read_support_format_ar(a.get());
  if (open(a.get()) != ARCHIVE_OK) {
    base::fail(base::ErrorKind::kInvalidInput,
              "Failed to open package '" + deb + "': " + archive_error_string(a.get()));
  }
  return a;
}

void check_ar_layout(ArchivePtr a, const std::string& deb) {
  enum class Next { kDebianBinary, kControl, kData, kTrailer } next = Next::kDebianBinary;
  archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    base::require(rc == ARCHIVE_OK, "Failed to check package '" + deb +
                                       "': not a well-formed ar archive: " +
                                       (archive_error_string(a.get()) ? archive_error_string(a.get()) : "?"));
    const char* raw = archive_entry_pathname(entry);
    const std::string name = raw != nullptr ? raw : "";
    auto bad_layout = [&](std::string_view expected) {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to check package '" + deb +
                                                   "': unexpected ar member '" + name +
                                                   "', expected " + std::string(expected));
    };
    if (next == Next::kDebianBinary) {
      if (name != "debian-binary") bad_layout("'debian-binary' first");
      const std::string version = read_small_member(a.get(), deb);
      base::require(version.rfind("2.", 0) == 0 && version.back() == '\n',
                   "Failed to check package '" + deb + "': unsupported format version in debian-binary");
      next = Next::kControl;
    } else if (!name.empty() && name.front() == '_') {
      continue;  // dpkg ignores these (e.g. _gpgorigin signatures)
    } else if (next == Next::kControl) {
      if (!is_tar_member(name, "control")) bad_layout("control.tar[.gz|.xz|.zst]");
      check_tar(a.get(), deb, name, /*control=*/true);
      next = Next::kData;
    } else if (next == Next::kData) {
      if (!is_tar_member(name, "data")) bad_layout("data.tar[.gz|.xz|.zst]");
      check_tar(a.get(), deb, name, /*control=*/false);
      next = Next::kTrailer;
    } else {
      bad_layout("nothing after the data archive");
    }
  }
  base::require(next == Next::kTrailer,
               "Failed to check package '" + deb + "': the control or data archive is missing");
}

}  // namespace

void check_deb(const std::filesystem::path& deb_path) {
  check_ar_layout(open_ar(deb_path.string(), [&](archive* a) {
                    return archive_read_open_filename(a, deb_path.c_str(), 65536);
                  }),
                  deb_path.string());
}

void check_deb_fd(int fd, std::string_view name) {
  check_ar_layout(open_ar(std::string(name), [&](archive* a) {
                    return archive_read_open_fd(a, fd, 65536);
                  }),
                  std::string(name));
}

}  // namespace stage::verifier
