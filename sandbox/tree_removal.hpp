// Removing a directory tree whose files belong to subordinate ids (an image
// root made by the installer, a cached build environment). The caller cannot
// unlink them: inside a user namespace that maps those ids, with
// CAP_DAC_OVERRIDE and CAP_FOWNER, `rm` can.
#pragma once

#include <filesystem>

#include "sandbox/spec.hpp"

namespace sandbox {

// Removes `path` and everything below it; nothing happens when it does not
// exist. Tries a plain removal first and falls back to remove_tree_sandboxed()
// when that fails with EACCES or EPERM. Throws base::Error naming the path.
void remove_tree(const std::filesystem::path& path);

// Removes `path` with `rm -rf --one-file-system` in a sandbox that maps the
// subordinate range and binds only the parent of `path` writable; a root
// caller, whose stages' range could not unlink root's files, removes directly.
void remove_tree_sandboxed(const std::filesystem::path& path);

// The sandbox remove_tree_sandboxed() runs (exposed for tests, which reuse it
// to make files owned by other ids).
SandboxSpec tree_removal_spec(const std::filesystem::path& path);

}  // namespace sandbox
