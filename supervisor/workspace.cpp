#include "supervisor/workspace.hpp"

#include <stdlib.h>

#include <string>

#include "ipc/error.hpp"

namespace supervisor {

Workspace::Workspace(const std::filesystem::path& parent) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    throw ipc::Error(ipc::ErrorKind::kFailed,
                     "Failed to create the workspace '" + parent.string() + "': " + ec.message());
  }
  std::string pattern = (parent / "build-XXXXXX").string();
  ipc::check_syscall(::mkdtemp(pattern.data()) ? 0 : -1, "create a build directory in", parent.string());
  dir_ = pattern;
}

Workspace::~Workspace() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace supervisor
