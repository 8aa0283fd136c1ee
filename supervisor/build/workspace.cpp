#include "supervisor/build/workspace.hpp"

#include <stdlib.h>

#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "sandbox/tree_removal.hpp"

namespace supervisor {

Workspace::Workspace(const std::filesystem::path& parent) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to create the workspace '" + parent.string() + "': " + ec.message());
  }
  std::string pattern = (parent / "build-XXXXXX").string();
  base::check_syscall(::mkdtemp(pattern.data()) ? 0 : -1, "create a build directory in", parent.string());
  dir_ = pattern;
}

Workspace::~Workspace() {
  // The image root holds files of subordinate ids (dpkg gave them their
  // owners): remove_tree falls back to a sandboxed rm for those.
  try {
    sandbox::remove_tree(dir_);
  } catch (const base::Error& e) {
    std::fprintf(stderr, "warning: %s\n", e.what());
  }
}

}  // namespace supervisor
