// A build's private directory under <work_dir>/<provider-id>/builds/. It is
// removed when the build ends, whether it succeeded, failed or was
// interrupted, so nothing half-made is left behind (files owned by
// subordinate ids included: see sandbox/tree_removal.hpp).
#pragma once

#include <filesystem>

namespace supervisor {

class Workspace {
 public:
  explicit Workspace(const std::filesystem::path& parent);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace supervisor
