// The packages an image's rpm database lists, read without writing anything:
// rpm ≥ 4.16 keeps the database in SQLite (rpmdb.sqlite, table Packages, one
// rpm header per row). SQLite reads the bytes the inspector took out of the
// image from memory (sqlite3_deserialize, read-only: no file, no journal, no
// lock), and each header's NAME, EPOCH, VERSION, RELEASE and ARCH are read
// from its index entries with every offset bounded. Hostile input gives a
// base::Error naming the database, never a read out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/inspector/report.hpp"

namespace stage::inspector {

// The tags of one header `inspect` reports. A header without a tag leaves
// it empty (an imported key, gpg-pubkey, has no ARCH); EPOCH unset: none.
struct RpmHeaderFields {
  std::string name, version, release, arch;
  std::optional<std::uint32_t> epoch;
};

// One header as rpmdb stores it (no lead, no magic): the entry count and
// data length (big-endian int32), the 16-byte entries, the data store.
RpmHeaderFields parse_rpm_header_blob(std::string_view blob, const std::string& where);

// Every package of the database `bytes` (the whole rpmdb.sqlite), sorted by
// name, version and architecture; version "[EPOCH:]VERSION-RELEASE" as rpm
// prints it.
std::vector<Package> read_rpmdb_sqlite(std::string bytes, const std::string& where);

}  // namespace stage::inspector
