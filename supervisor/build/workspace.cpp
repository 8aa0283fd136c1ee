#include "supervisor/build/workspace.hpp"

#include <stdlib.h>

#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "sandbox/tree_removal.hpp"

namespace supervisor {

Workspace::Workspace(const std::filesystem::path& parent) {
  base::make_directories(parent);
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
