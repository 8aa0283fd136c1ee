// A template partition for the supervisor's build tests, written in one line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/template.hpp"

namespace supervisor::test_support {

inline config::Partition partition(std::string id, std::string type, std::string start, std::string end,
                                   std::string fs, std::string mount, std::string options = "",
                                   std::vector<std::string> flags = {}) {
  config::Partition p;
  p.id = std::move(id);
  p.type = std::move(type);
  p.start = std::move(start);
  p.end = std::move(end);
  p.fs_type = std::move(fs);
  if (!mount.empty()) p.mount_point = std::move(mount);
  if (!options.empty()) p.mount_options = std::move(options);
  p.flags = std::move(flags);
  return p;
}

}  // namespace supervisor::test_support
