// The file system kinds a partition's fsType names: shared by the disk
// layout and by the choice of host programs (part of the policy library,
// which the supervisor links without the rest of the disk maker).
#pragma once

#include <string_view>

namespace stage::diskmaker {

// Normalised file system kinds.
enum class FsKind { kNone, kExt, kVfat, kSwap, kXfs };
// Throws base::Error(kInvalidInput) for an unknown type, naming `partition_id`.
FsKind fs_kind(std::string_view fs_type, std::string_view partition_id);

}  // namespace stage::diskmaker
