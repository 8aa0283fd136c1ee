#include "supervisor/cli/inspector_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.hpp"
#include "supervisor/cache/digest.hpp"
#include "stages/inspector/client.hpp"
#include "supervisor/build/build_steps.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/stage/stage_table.hpp"
#include "supervisor/terminal_text.hpp"

namespace supervisor::cli {

namespace fs = std::filesystem;
namespace inspector = stage::inspector;

base::UniqueFd open_image(const fs::path& image) {
  base::UniqueFd fd(::open(image.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) base::check_syscall(-1, "open the image", image.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat the image", image.string());
  if (!S_ISREG(st.st_mode)) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to inspect '" + image.string() + "': it is not a regular file");
  }
  return fd;
}

bool is_qcow2(int fd) {
  char magic[4] = {};
  return ::pread(fd, magic, sizeof magic, 0) == static_cast<ssize_t>(sizeof magic) &&
         std::memcmp(magic, "QFI\xfb", sizeof magic) == 0;
}

namespace {

// `fd` opened again read-only, with a file offset of its own.
base::UniqueFd reopen_read_only(int fd, const fs::path& image) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  base::UniqueFd out(::open(self.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  if (!out) base::check_syscall(-1, "reopen read-only", image.string());
  return out;
}

// An unlinked temporary file in the temporary directory (O_TMPFILE), read-write.
base::UniqueFd temporary_file(const Invocation& inv, const fs::path& image, const std::string& what) {
  const fs::path dir = inv.global.temp_dir.empty() ? fs::temp_directory_path() : inv.global.temp_dir;
  fs::create_directories(dir);
  base::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) base::check_syscall(-1, "create " + what + " of '" + image.string() + "' in", dir.string());
  return fd;
}

// The bytes of `from` into `to` (copy_file_range: a reflink or an in-kernel copy).
void copy_bytes(int from, int to, const fs::path& image) {
  loff_t offset = 0;
  for (;;) {
    const ssize_t n = ::copy_file_range(from, &offset, to, nullptr, 1 << 30, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
      base::check_syscall(-1, "copy the qcow2 image", image.string());
    }
    std::vector<char> buffer(1 << 20);
    for (ssize_t got; (got = ::pread(from, buffer.data(), buffer.size(), offset)) != 0; offset += got) {
      base::check_syscall(got < 0 ? -1 : 0, "read the qcow2 image", image.string());
      for (ssize_t put = 0; put < got;) {
        const ssize_t w = ::write(to, buffer.data() + put, static_cast<std::size_t>(got - put));
        base::check_syscall(w < 0 ? -1 : 0, "copy the qcow2 image", image.string());
        put += w;
      }
    }
    return;
  }
}

// A qcow2 image to convert: a copy of its bytes (what the stage reads, so
// that nothing in the sandbox can reopen the user's file for writing) and
// the raw disk's file, both unlinked temporary files.
struct Conversion {
  std::size_t index;
  base::UniqueFd copy;
  base::UniqueFd raw;
  std::uint64_t virtual_size = 0;
};

StageJob conversion_job(const fs::path& image, Conversion& c, std::string name) {
  return StageJob{
      .name = std::move(name),
      .kind = ipc::proto::StageKind::INSPECTOR,
      .after = {},
      .prepare =
          [&c, image] {
            PreparedRequest p;
            p.fds.push_back(reopen_read_only(c.copy.get(), image));
            p.fd_paths.push_back(image);
            p.fd_flags.push_back(O_RDONLY);
            p.fds.push_back(base::UniqueFd(::fcntl(c.raw.get(), F_DUPFD_CLOEXEC, 3)));  // read-write
            if (!p.fds.back()) base::check_syscall(-1, "duplicate the raw file of", image.string());
            p.fd_paths.push_back(image.string() + " (raw)");
            p.fd_flags.push_back(O_RDWR);
            p.fd_secret.assign(p.fds.size(), true);  // --keep-requests keeps paths, never image bytes
            inspector::client::encode({ipc::FdReference::of_slot(0), image.filename().string(), false, false,
                                       ipc::FdReference::of_slot(1)},
                                      p.init_request().initInspector());
            return p;
          },
      .on_success =
          [&c](const StageOutcome& outcome) { c.virtual_size = outcome.result_reader().getInspector().getVirtualSize(); },
      .timeout = stage_info(ipc::proto::StageKind::INSPECTOR).default_timeout};
}

// The raw file holds what the stage said it wrote: the virtual size.
void check_raw_size(const Conversion& c, const fs::path& image) {
  struct stat st {};
  base::check_syscall(::fstat(c.raw.get(), &st), "stat the raw disk of", image.string());
  if (c.virtual_size == 0 || static_cast<std::uint64_t>(st.st_size) != c.virtual_size) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to convert the qcow2 image '" + image.string() + "': the raw disk holds " +
                                                   std::to_string(st.st_size) + " bytes, not its virtual size " +
                                                   std::to_string(c.virtual_size));
  }
}

StageJob inspector_job(const fs::path& image, base::UniqueFd& fd, const InspectorAsk& ask, std::string name,
                       inspector::Report& report) {
  return StageJob{
      .name = std::move(name),
      .kind = ipc::proto::StageKind::INSPECTOR,
      .after = {},
      .prepare =
          [&fd, &ask, image] {
            PreparedRequest p;
            // Like a key's, the image's bytes are never copied by --keep-requests: its path is kept.
            p.fds.push_back(std::move(fd));
            p.fd_paths.push_back(image);
            p.fd_flags.push_back(O_RDONLY);
            p.fd_secret.resize(p.fds.size(), false);
            p.fd_secret.back() = true;
            inspector::client::encode(
                {ipc::FdReference::of_slot(0), image.filename().string(), ask.extract_sbom, ask.list_files},
                p.init_request().initInspector());
            return p;
          },
      .on_success =
          [&report](const StageOutcome& outcome) {
            report = inspector::client::decode_report(outcome.result_reader().getInspector());
          },
      .timeout = stage_info(ipc::proto::StageKind::INSPECTOR).default_timeout};
}

std::string job_name(const std::string& verb, std::size_t i, std::size_t count) {
  return count == 1 ? verb : verb + " " + std::string(1, static_cast<char>('A' + i));
}

}  // namespace

std::vector<RawImage> raw_images(const Invocation& inv, const std::vector<fs::path>& images) {
  std::vector<RawImage> out;
  std::vector<Conversion> conversions;
  conversions.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    out.push_back({images[i], open_image(images[i]), false});
    if (!is_qcow2(out.back().fd.get())) continue;
    conversions.push_back({i, temporary_file(inv, images[i], "a copy"), temporary_file(inv, images[i], "the raw disk")});
    copy_bytes(out.back().fd.get(), conversions.back().copy.get(), images[i]);
  }
  if (conversions.empty()) return out;
  ProgressReporter progress(choose_progress_mode(false, stderr), stderr);
  Orchestrator run(orchestrator_options(inv.global, std::nullopt), progress);
  for (Conversion& c : conversions) run.add(conversion_job(images[c.index], c, job_name("convert", c.index, images.size())));
  run.run();
  for (Conversion& c : conversions) {
    check_raw_size(c, images[c.index]);
    out[c.index].fd = reopen_read_only(c.raw.get(), images[c.index]);
    out[c.index].from_qcow2 = true;
  }
  return out;
}

std::vector<inspector::Report> run_inspectors(const Invocation& inv, const std::vector<RawImage>& raws,
                                              const InspectorAsk& ask) {
  std::vector<fs::path> images;
  std::vector<base::UniqueFd> fds;
  for (const RawImage& raw : raws) {
    images.push_back(raw.path);
    fds.push_back(reopen_read_only(raw.fd.get(), raw.path));
  }
  std::vector<inspector::Report> reports(images.size());
  ProgressReporter progress(choose_progress_mode(false, stderr), stderr);
  Orchestrator run(orchestrator_options(inv.global, std::nullopt), progress);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string name = job_name("inspect", i, images.size());
    run.add(inspector_job(images[i], fds[i], ask, name, reports[i]));
  }
  run.run();
  return reports;
}

std::vector<inspector::Report> run_inspectors(const Invocation& inv, const std::vector<fs::path>& images,
                                              const InspectorAsk& ask) {
  return run_inspectors(inv, raw_images(inv, images), ask);
}

inspector::Report run_inspector(const Invocation& inv, const fs::path& image, const InspectorAsk& ask) {
  return std::move(run_inspectors(inv, {image}, ask).front());
}

namespace {

std::string sha256_of_range(int fd, std::uint64_t offset, std::uint64_t length, const std::string& shown_as) {
  Sha256Stream hash;
  std::vector<char> buffer(1 << 20);
  while (length > 0) {
    const ssize_t n = ::pread(fd, buffer.data(), std::min<std::uint64_t>(length, buffer.size()), static_cast<off_t>(offset));
    if (n == 0) base::fail(base::ErrorKind::kInvalidInput, "Failed to hash " + shown_as + ": it ends early");
    base::check_syscall(n < 0 ? -1 : 0, "read", shown_as);
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  return hash.finish();
}

}  // namespace

std::map<std::uint32_t, std::string> hash_partitions(const inspector::Report& report, std::uint64_t image_size,
                                                     const RawImage& raw) {
  std::map<std::uint32_t, std::string> out;
  const std::uint64_t sector = report.table.sector_size;
  for (const inspector::Partition& p : report.partitions) {
    const bool inside = sector > 0 && p.first_lba <= p.last_lba && p.last_lba < image_size / sector;
    if (!inside) continue;
    out[p.index] = sha256_of_range(raw.fd.get(), p.first_lba * sector, (p.last_lba - p.first_lba + 1) * sector,
                                   "partition " + std::to_string(p.index) + " of '" + raw.path.string() + "'");
  }
  return out;
}

std::string shown(const std::string& text) {
  std::string out;
  for (char c : printable(text)) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out;
}

}  // namespace supervisor::cli
