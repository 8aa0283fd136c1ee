// The initramfs images kept for reuse (docs/image-build.md, "Initramfs
// reuse"): stage-installer names one by a key hashing its configured tree
// and everything else it was made from, and finds it again through a
// read-only bind of this directory; only the supervisor writes here.
//
//   <cache_dir>/initramfs/<key>             the initramfs, with the mode the tool gave it
//   <cache_dir>/initramfs/<key>.touched     what making it only touched, one tree path per line
//   <cache_dir>/initramfs/.tmp-<key>-<pid>  one being kept
//
// The newest kInitramfsKept are kept (a reuse makes one the newest). Run
// by root, the store and its files belong to the stages' root (a
// subordinate uid, sandbox/stage_owner.hpp), which reads them through the
// read-only bind; the 0700 cache root keeps every other user out.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace supervisor {

inline constexpr std::size_t kInitramfsKept = 8;

// <cache_dir>/initramfs, created 0700 (a wider existing one is tightened:
// the warning names it).
std::filesystem::path initramfs_store_dir(const std::filesystem::path& cache_dir,
                                          std::vector<std::string>* warnings = nullptr);

// Copies `initrd_path` of the stage-written tree `root` (opened beneath it,
// through no link) to <store>/<key> and writes `touched` to
// <store>/<key>.touched, then removes all but the newest kInitramfsKept.
// `key` must be 64 hex digits; an initramfs that is not a regular file, or
// a touched path that is not relative and inside the tree, is refused.
void keep_initramfs(const std::filesystem::path& store, const std::string& key, const std::filesystem::path& root,
                    const std::string& initrd_path, const std::vector<std::string>& touched = {});

// A reused one becomes the newest (so it is the last to go).
void touch_initramfs(const std::filesystem::path& store, const std::string& key);

// `cache clean`: <cache_dir>/initramfs, when it exists (nothing else: empty).
std::vector<std::filesystem::path> clean_initramfs_store(const std::filesystem::path& cache_dir, bool dry_run);

}  // namespace supervisor
