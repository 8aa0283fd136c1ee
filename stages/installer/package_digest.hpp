// The installer installs a package only from the fd it hashed: the .deb the
// supervisor verified is named by path in a read-only bind of the cache, and
// what the stage opened there is checked against the lockfile's sha256
// before anything reads it (docs/fetching-and-cache.md).
#pragma once

#include <string_view>

namespace stage::installer {

// Hashes `fd` from offset 0 (its offset is left alone) and throws
// base::Error(kInvalidInput) naming `package` and both hashes when the
// content is not `expected_sha256`.
void require_package_sha256(int fd, std::string_view package, std::string_view expected_sha256);

}  // namespace stage::installer
