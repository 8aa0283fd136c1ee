#include "stages/verifier/rpm/archive_check.hpp"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "base/error.hpp"

namespace stage::verifier::rpm {
namespace {

[[noreturn]] void refuse(std::string_view what, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to check " + std::string(what) + ": " + why);
}

// Paths from BASENAMES + DIRINDEXES + DIRNAMES, or OLDFILENAMES in old
// packages; none in a package without files.
std::vector<std::string> file_paths(const Header& main, std::string_view what) {
  const auto basenames = main.strings(kTagBasenames);
  if (!basenames) return main.strings(kTagOldFilenames).value_or(std::vector<std::string>{});
  const auto indexes = main.int32s(kTagDirIndexes);
  const auto dirnames = main.strings(kTagDirNames);
  if (!indexes || !dirnames || indexes->size() != basenames->size()) {
    refuse(what, "its header lists " + std::to_string(basenames->size()) +
                     " file names without a directory index for each");
  }
  std::vector<std::string> paths;
  paths.reserve(basenames->size());
  for (std::size_t i = 0; i < basenames->size(); ++i) {
    const std::uint32_t dir = (*indexes)[i];
    if (dir >= dirnames->size()) {
      refuse(what, "file '" + (*basenames)[i] + "' names directory " + std::to_string(dir) + " of " +
                       std::to_string(dirnames->size()));
    }
    paths.push_back((*dirnames)[dir] + (*basenames)[i]);
  }
  return paths;
}

void check_path(const std::string& path, std::string_view what) {
  if (path.empty()) refuse(what, "a file has an empty name");
  if (path.front() != '/') refuse(what, "file '" + path + "' is not an absolute path");
  for (std::size_t at = 0; at != std::string::npos;) {
    const std::size_t next = path.find('/', at + 1);
    if (path.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1) == "..") {
      refuse(what, "file '" + path + "' has a '..' component (it would escape its directory)");
    }
    at = next;
  }
}

template <typename Values>
void require_one_per_file(const std::optional<Values>& values, std::size_t files, const char* tag,
                          std::string_view what) {
  if (values && values->size() != files) {
    refuse(what, std::string("its header lists ") + std::to_string(values->size()) + " " + tag + " for " +
                     std::to_string(files) + " files");
  }
}

}  // namespace

void check_file_list(const Header& main, std::string_view what) {
  const std::vector<std::string> paths = file_paths(main, what);
  const auto modes = main.int16s(kTagFileModes);
  if (!paths.empty() && !modes) refuse(what, "its header lists files without their modes");
  require_one_per_file(modes, paths.size(), "FILEMODES", what);
  require_one_per_file(main.int32s(kTagFileFlags), paths.size(), "FILEFLAGS", what);
  require_one_per_file(main.strings(kTagFileUsername), paths.size(), "FILEUSERNAME", what);
  require_one_per_file(main.strings(kTagFileGroupname), paths.size(), "FILEGROUPNAME", what);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    check_path(paths[i], what);
    const mode_t mode = (*modes)[i];
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
      refuse(what, "file '" + paths[i] + "' is a " + (S_ISCHR(mode) ? "character" : "block") + " device");
    }
  }
}

}  // namespace stage::verifier::rpm
