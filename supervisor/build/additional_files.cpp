#include "supervisor/build/additional_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "base/error.hpp"
#include "base/openat2.hpp"
#include "config/merge.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFlag = "--allow-outside-files";

std::string describe(const std::vector<fs::path>& dirs) {
  std::string text;
  for (const auto& dir : dirs) text += (text.empty() ? "'" : ", '") + dir.string() + "'";
  return text;
}

[[noreturn]] void refuse(const fs::path& source, const std::string& why, const AdditionalFileRoots& roots) {
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "additional file '" + source.string() + "' " + why + "; additional files must be inside " +
                       describe(roots.dirs))
      .with_hint("move the file there, or pass " + std::string(kFlag) + " to build to use it where it is");
}

// `source` relative to `root` when it lies beneath it (lexically), else empty.
fs::path relative_beneath(const fs::path& source, const fs::path& root) {
  const fs::path rel = source.lexically_normal().lexically_relative(root.lexically_normal());
  if (rel.empty() || *rel.begin() == ".." || rel == ".") return {};
  return rel;
}

base::UniqueFd open_beneath(const fs::path& root, const fs::path& rel, const fs::path& source,
                               const AdditionalFileRoots& roots) {
  base::UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw base::Error(base::ErrorKind::kInvalidInput, "Failed to open '" + root.string() + "': " + std::strerror(errno));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = base::openat2_retrying(dir.get(), rel.c_str(), how);
  if (fd < 0 && errno == EXDEV) refuse(source, "leads out of '" + root.string() + "' through a symbolic link", roots);
  if (fd < 0) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "Failed to open additional file '" + source.string() + "': " + std::strerror(errno));
  }
  return base::UniqueFd(static_cast<int>(fd));
}

}  // namespace

AdditionalFileRoots additional_file_roots(const config::ImageTemplate& image, const fs::path& os_data_dir,
                                          bool allow_outside) {
  AdditionalFileRoots roots{{fs::absolute(image.source).parent_path()}, allow_outside};
  if (!os_data_dir.empty()) roots.dirs.push_back(fs::absolute(os_data_dir));
  return roots;
}

OpenedAdditionalFile open_additional_file(const fs::path& source, const AdditionalFileRoots& roots) {
  OpenedAdditionalFile opened;
  for (const auto& root : roots.dirs) {
    const fs::path rel = relative_beneath(source, root);
    if (rel.empty()) continue;
    opened.fd = open_beneath(root, rel, source, roots);
    break;
  }
  if (!opened.fd) {
    if (!roots.allow_outside) refuse(source, "is outside the template's and the OS data's directories", roots);
    opened.fd = base::UniqueFd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!opened.fd) {
      throw base::Error(base::ErrorKind::kInvalidInput,
                       "Failed to open additional file '" + source.string() + "': " + std::strerror(errno));
    }
  }
  struct stat st {};
  base::check_syscall(::fstat(opened.fd.get(), &st), "inspect", source.string());
  base::require(S_ISREG(st.st_mode), "additional file '" + source.string() + "' is not a regular file");
  opened.mode = st.st_mode;
  std::error_code ec;
  opened.path = fs::read_symlink("/proc/self/fd/" + std::to_string(opened.fd.get()), ec);
  if (ec) opened.path = source;
  return opened;
}

OpenedAdditionalFile open_supplied_file(const SuppliedFile& file) {
  base::require(file.source.is_absolute() && fs::path(file.destination).is_absolute(),
               "supplied file '" + file.source.string() + "' -> '" + file.destination + "': both paths must be absolute");
  OpenedAdditionalFile opened;
  opened.fd = base::UniqueFd(::open(file.source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW));
  if (!opened.fd) {
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to open '" + file.source.string() + "' for the image's " + file.destination + ": " +
                         std::strerror(errno));
  }
  struct stat st {};
  base::check_syscall(::fstat(opened.fd.get(), &st), "inspect", file.source.string());
  base::require(S_ISREG(st.st_mode), "'" + file.source.string() + "' is not a regular file");
  opened.path = file.source;
  opened.mode = file.mode;
  return opened;
}

fs::path require_additional_file(const config::AdditionalFile& file, const fs::path& template_path) {
  if (std::optional<fs::path> found = config::find_additional_file(file, template_path)) return *found;
  const fs::path declared_in = file.declared_in.empty() ? template_path : file.declared_in;
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "additional file '" + file.local + "' (final '" + file.final + "', declared in '" +
                       declared_in.string() + "') is not found; looked for " +
                       describe(config::additional_file_candidates(file, template_path)))
      .with_hint("create the file or remove the entry (the reference tool dropped a missing file silently)");
}

void check_additional_files(const config::ImageTemplate& image, const AdditionalFileRoots& roots) {
  if (!image.system_config) return;
  for (const auto& file : image.system_config->additional_files) {
    open_additional_file(require_additional_file(file, image.source), roots);
  }
}

}  // namespace supervisor
