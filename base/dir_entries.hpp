// The names in a directory, read through an fd: the project's walkers of
// stage-written trees open each entry themselves (beneath, without
// following links) and only need the names, in a stable order.
#pragma once

#include <string>
#include <vector>

namespace base {

// The entries of the directory `dir_fd` ("." and ".." left out), sorted.
// The fd is not moved: the listing reads a duplicate from its start. A
// failure to list throws base::Error naming `shown`.
std::vector<std::string> sorted_entry_names(int dir_fd, const std::string& shown);

}  // namespace base
