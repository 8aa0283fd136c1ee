// Paths inside a root tree, resolved as if the tree were "/": symlinks are
// followed within it (an absolute target starts at the tree), never out of
// it. What the tree names (a kernel, grub-mkimage, its dynamic loader, the
// GRUB module directories) is read or run through these.
#pragma once

#include <string>
#include <string_view>

#include "base/unique_fd.hpp"

namespace stage::isomaker {

// Opens `path` (absolute, in the tree) with `flags`; throws kInvalidInput
// naming `what` and the path when it does not exist.
base::UniqueFd open_in_tree(int tree_fd, std::string_view path, int flags, std::string_view what);

// The real path, as this process sees it, of what `path` in the tree names.
std::string resolve_in_tree(int tree_fd, std::string_view path, std::string_view what);

// Whether `path` names something in the tree (symlinks resolved within it).
bool exists_in_tree(int tree_fd, std::string_view path);

// A plain file name: not empty, no '/', not "." or "..".
void require_file_name(std::string_view name, std::string_view what);

}  // namespace stage::isomaker
