#include "live/image_writer.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/fetcher/sha256.hpp"

namespace live {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;
// Bounds the dirty pages a RAM-backed live environment holds at once.
constexpr std::uint64_t kSyncEvery = std::uint64_t{256} << 20;

struct RawSink {
  int fd;
  const ImageEntry& image;
  const std::string& disk_name;
  const Progress& progress;
  stage::fetcher::Sha256 sha;
  std::uint64_t written = 0;

  void write(const unsigned char* data, std::size_t size) {
    if (size == 0) return;
    base::require(written + size <= image.raw_size,
                  "the image " + image.path.string() + " unpacks to more than the manifest's rawSize " +
                      std::to_string(image.raw_size) + " bytes");
    sha.update(data, size);
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(written + done));
      base::check_syscall(n, "write to disk", disk_name);
      done += static_cast<std::size_t>(n);
    }
    if ((written + size) / kSyncEvery != written / kSyncEvery) base::check_syscall(::fdatasync(fd), "sync", disk_name);
    written += size;
    if (progress) progress(written, image.raw_size);
  }
};

struct Inflater {
  z_stream zs{};
  bool ended = false;
  Inflater() { base::check(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "cannot start zlib"); }
  ~Inflater() { inflateEnd(&zs); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
};

[[noreturn]] void corrupt(const ImageEntry& image, const z_stream& zs) {
  base::fail(base::ErrorKind::kInvalidInput, "the image " + image.path.string() + " is not a valid gzip stream (" +
                                                 std::string(zs.msg ? zs.msg : "corrupt data") + ")");
}

// Inflates one chunk of compressed input into the sink; gzip members may follow
// one another (pigz, concatenated files).
void inflate_chunk(Inflater& inf, unsigned char* data, std::size_t size, RawSink& sink, std::vector<unsigned char>& out) {
  inf.zs.next_in = data;
  inf.zs.avail_in = static_cast<uInt>(size);
  for (;;) {
    if (inf.ended) {
      if (inf.zs.avail_in == 0) return;
      inflateReset(&inf.zs);
      inf.ended = false;
    }
    inf.zs.next_out = out.data();
    inf.zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&inf.zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) corrupt(sink.image, inf.zs);
    sink.write(out.data(), out.size() - inf.zs.avail_out);
    if (rc == Z_STREAM_END) inf.ended = true;
    else if (inf.zs.avail_out != 0) return;  // all input consumed
  }
}

void expect(const std::string& what, const std::string& got, const std::string& wanted) {
  base::require(got == wanted, what + " is " + got + "; the manifest says " + wanted);
}

void stream_image(const ImageEntry& image, RawSink& sink) {
  base::UniqueFd in(::open(image.path.c_str(), O_RDONLY | O_CLOEXEC));
  base::check_syscall(in.get(), "open", image.path.string());
  std::vector<unsigned char> compressed(kChunk), out(kChunk);
  stage::fetcher::Sha256 sha;
  std::uint64_t size = 0;
  Inflater inf;
  for (;;) {
    const ssize_t n = base::check_syscall(::read(in.get(), compressed.data(), compressed.size()), "read",
                                          image.path.string());
    if (n == 0) break;
    sha.update(compressed.data(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
    inflate_chunk(inf, compressed.data(), static_cast<std::size_t>(n), sink, out);
  }
  base::require(inf.ended, "the image " + image.path.string() + " ends inside its gzip stream (truncated)");
  expect("the size of " + image.path.string(), std::to_string(size), std::to_string(image.size));
  expect("the SHA-256 of " + image.path.string(), sha.finish_hex(), image.sha256);
  expect("the unpacked size of " + image.path.string(), std::to_string(sink.written), std::to_string(image.raw_size));
  expect("the SHA-256 of the unpacked " + image.path.string(), sink.sha.finish_hex(), image.raw_sha256);
}

// Zeroes the first and the last MiB of what was written: both GPT headers.
void wipe(int fd, std::uint64_t written) {
  const std::vector<char> zeros(kChunk, 0);
  const std::uint64_t size = std::min<std::uint64_t>(kChunk, written);
  (void)!::pwrite(fd, zeros.data(), size, 0);
  (void)!::pwrite(fd, zeros.data(), size, static_cast<off_t>(written - size));
  ::fsync(fd);
}

}  // namespace

void write_image(const ImageEntry& image, int disk_fd, const std::string& disk_name, const Progress& progress) {
  RawSink sink{disk_fd, image, disk_name, progress, {}, 0};
  try {
    stream_image(image, sink);
    base::check_syscall(::fsync(disk_fd), "sync", disk_name);
  } catch (base::Error& error) {
    wipe(disk_fd, sink.written);
    error.add_context("writing " + image.path.string() + " to " + disk_name + " (the partial image has been wiped)");
    throw;
  }
}

void verify_written_image(const ImageEntry& image, int disk_fd, const std::string& disk_name) {
  // Drop the cached pages so the hash reads what the device holds.
  ::posix_fadvise(disk_fd, 0, static_cast<off_t>(image.raw_size), POSIX_FADV_DONTNEED);
  stage::fetcher::Sha256 sha;
  sha.update_from_fd(disk_fd, image.raw_size, disk_name);
  const std::string got = sha.finish_hex();
  if (got != image.raw_sha256) {
    wipe(disk_fd, image.raw_size);
    base::fail(base::ErrorKind::kFailed, "the image read back from " + disk_name + " has SHA-256 " + got +
                                             "; the manifest says " + image.raw_sha256 + " (the disk has been wiped)");
  }
}

}  // namespace live
