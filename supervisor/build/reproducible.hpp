// What makes two builds of the same template and lockfile give the same bytes
// (docs/reproducible-builds.md). Nothing a build writes is random: every
// identifier the disk, its file systems and the users' password hashes need is
// derived from the build's seed, and every time is the build time.
//
//   seed       = SHA-256 hex of "os-image-composer build seed 1\n", the
//                lockfile's JSON (lockfile_to_json), "\n" and the merged
//                template (config::emit_template)
//   bytes(L)   = SHA-256 of seed "\n" L, for a label L such as "fs-uuid:rootfs"
//   uuid(L)    = the first 16 bytes of bytes(L) with the version 4 and RFC 4122
//                variant bits set, lower-case 8-4-4-4-12
//   build time = SOURCE_DATE_EPOCH when set, else the newest repository date
//                the lockfile records (lockfile_time)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/template.hpp"
#include "supervisor/build/disk_layout.hpp"
#include "supervisor/build/lockfile.hpp"

namespace supervisor {

// 64 hex digits: one template and one lockfile, one seed; a change to either
// (a package version, a partition, a user) gives another.
std::string build_seed(const config::ImageTemplate& image, const Lockfile& lock);

// SHA-256 of `seed` "\n" `label`: `count` bytes of it, at most 32.
std::vector<unsigned char> derived_bytes(std::string_view seed, std::string_view label, std::size_t count);

// A version 4 UUID made of derived_bytes(seed, label, 16).
std::string derived_uuid(std::string_view seed, std::string_view label);

// The disk plan's identifiers from `seed`: each label (disk_layout.hpp) its own UUID.
UuidSource derived_uuids(std::string seed);

// The newest date among the lockfile's repositories (the signed metadata's
// Release Date or repomd revision the lock was made from), -1 when none
// records one (a lockfile written before the field).
std::int64_t lockfile_time(const Lockfile& lock);

// An image's stages' time (SBOM, file system and FAT times, clamped file
// times, useradd's last password change): `source_date_epoch` (the
// environment's) when set and not empty, else lockfile_time, so the same
// lockfile gives the same time wherever and whenever it is built; -1 (the
// stages use the clock) when neither is there. Throws base::Error
// (kInvalidInput) on a value that is not a count of seconds.
std::int64_t given_build_time(const Lockfile& lock, const char* source_date_epoch);

// The time an initrd's entries and an ISO's files are clamped to: the given
// time, else (an old lockfile) a time in 2020 derived from the lockfile's
// hash. An image's stages never get that one: it is older than most
// packages' files, whose times the disk maker would clamp to it (rpm -V
// reports each), and would date useradd's last password change years back
// (an account with a maximum password age expired at first boot).
std::int64_t build_time(const Lockfile& lock, const char* source_date_epoch);

}  // namespace supervisor
