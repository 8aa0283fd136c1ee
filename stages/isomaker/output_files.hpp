// Files the stage writes into its output directory: each is written under
// `.<name>.partial` and renamed to its name only when every file of the
// request is complete; on failure every temporary file is removed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "stages/isomaker/initrd.hpp"

namespace stage::isomaker {

std::string partial_name(const std::string& name);

class PendingOutputs {
 public:
  explicit PendingOutputs(int dir_fd) : dir_fd_(dir_fd) {}
  ~PendingOutputs();
  PendingOutputs(const PendingOutputs&) = delete;
  PendingOutputs& operator=(const PendingOutputs&) = delete;

  // Creates `.<name>.partial` (replacing a left-over) for writing.
  int create(const std::string& name);
  // Hashes the temporary file of `name` (sha256, size).
  WrittenFile finish(const std::string& name);
  // Renames every temporary file to its name.
  void commit();

 private:
  int dir_fd_;
  std::vector<std::pair<std::string, int>> files_;  // name, fd
};

}  // namespace stage::isomaker
