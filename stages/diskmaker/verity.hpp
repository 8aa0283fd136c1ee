// dm-verity for a read-only root (systemConfig.immutability.enabled). The
// root file system is made in a scratch file, `veritysetup format` writes
// its hash tree into another (no device-mapper: it reads and writes files),
// and both are copied into their partitions. The UKI on the ESP carries a
// placeholder as `roothash=` (ipc/shared.capnp); it is replaced by the root
// hash before the ESP is made, so the one EFI binary that Secure Boot signs
// holds the hash that pins every block of "/".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stages/diskmaker/layout.hpp"

namespace stage::diskmaker {

struct VeritySpec {
  std::string data_id;  // the partition mounted at "/"
  std::string hash_id;  // an unmounted partition without a file system
};

// Checks that both ids name partitions of `layout`: the data partition is
// "/" with an ext file system, the hash partition is not mounted and has
// no file system, the table is GPT (the kernel command line names them by
// PARTUUID). Throws base::Error(kInvalidInput) naming what is wrong.
void check_verity(const VeritySpec& verity, const DiskLayout& layout);

// argv of `veritysetup format` of `data` into `hash`. The salt comes from
// the data file system's UUID and the superblock's UUID is the hash
// partition's, so equal inputs give an equal hash tree and root hash.
std::vector<std::string> veritysetup_format_argv(const PartitionSpec& data, const PartitionSpec& hash,
                                                 const std::string& data_path, const std::string& hash_path);

// The "Root hash:" of veritysetup's output: 64 lower-case hex digits.
// Throws base::Error(kFailed) when there is none.
std::string parse_root_hash(std::string_view veritysetup_output);

// Replaces `placeholder` (ipc/shared.capnp's, passed in so this library
// needs no schema) with `root_hash`, of the same length, in every regular file
// below `dir_fd` (symlinks are not followed; a file is rewritten, not
// changed in place, so a hard link elsewhere keeps its bytes). A file that
// holds the placeholder more than once is refused. Returns the paths
// (relative to the directory) of the files changed.
std::vector<std::string> replace_root_hash_placeholder(int dir_fd, std::string_view placeholder,
                                                       const std::string& root_hash);

}  // namespace stage::diskmaker
