#include "stages/inspector/rpmdb.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include "base/error.hpp"

namespace stage::inspector {
namespace {

// rpm's header tags and types (rpmtag.h).
constexpr std::uint32_t kTagName = 1000, kTagVersion = 1001, kTagRelease = 1002, kTagEpoch = 1003, kTagArch = 1022;
constexpr std::uint32_t kTypeInt32 = 4, kTypeString = 6, kTypeI18nString = 9;
// rpm's own bounds on a header (header_internal.h: HEADER_TAGS_MAX, HEADER_DATA_MAX).
constexpr std::uint32_t kMaxEntries = 0xffff;
constexpr std::uint32_t kMaxData = 256u << 20;
constexpr std::size_t kMaxPackages = 200000;

[[noreturn]] void malformed(const std::string& where, const std::string& what) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to read the rpm database " + where + ": " + what);
}

std::uint32_t be32(std::string_view bytes, std::size_t at) {
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// The NUL-terminated string at `offset` of the data store.
std::string string_at(std::string_view data, std::uint32_t offset, const std::string& where) {
  if (offset >= data.size()) malformed(where, "a header string lies outside its data");
  const std::size_t end = data.find('\0', offset);
  if (end == std::string_view::npos) malformed(where, "a header string has no end");
  return std::string(data.substr(offset, end - offset));
}

struct CloseDb {
  void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

// An in-memory database over `bytes` (which must outlive it), hardened as
// SQLite advises for files from elsewhere: defensive, no trusted schema,
// cells checked.
Db open_in_memory(std::string& bytes, const std::string& where) {
  static constexpr std::string_view kMagic{"SQLite format 3\0", 16};
  if (!std::string_view(bytes).starts_with(kMagic)) malformed(where, "it is not an SQLite database");
  // A WAL database read from memory has no -wal file to merge and no shared
  // memory: marked as a rollback-journal one (header bytes 18-19), it reads
  // as the checkpointed file it is.
  if (bytes.size() > 19 && bytes[18] == 2 && bytes[19] == 2) bytes[18] = bytes[19] = 1;
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    malformed(where, "SQLite could not open an in-memory database");
  }
  Db db(raw);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  const int rc = sqlite3_deserialize(raw, "main", reinterpret_cast<unsigned char*>(bytes.data()),
                                     static_cast<sqlite3_int64>(bytes.size()),
                                     static_cast<sqlite3_int64>(bytes.size()), SQLITE_DESERIALIZE_READONLY);
  if (rc != SQLITE_OK) malformed(where, sqlite3_errmsg(raw));
  sqlite3_exec(raw, "PRAGMA cell_size_check=ON", nullptr, nullptr, nullptr);
  return db;
}

std::string version_of(const RpmHeaderFields& h) {
  std::string out = h.epoch ? std::to_string(*h.epoch) + ":" : "";
  return out + h.version + "-" + h.release;
}

}  // namespace

RpmHeaderFields parse_rpm_header_blob(std::string_view blob, const std::string& where) {
  if (blob.size() < 8) malformed(where, "a header is shorter than its counts");
  const std::uint32_t entries = be32(blob, 0), data_size = be32(blob, 4);
  if (entries == 0 || entries > kMaxEntries || data_size > kMaxData) malformed(where, "a header's counts are out of range");
  const std::size_t data_start = 8 + std::size_t{entries} * 16;
  if (blob.size() < data_start + data_size) malformed(where, "a header is shorter than its counts say");
  const std::string_view data = blob.substr(data_start, data_size);
  RpmHeaderFields out;
  for (std::uint32_t i = 0; i < entries; ++i) {
    const std::size_t at = 8 + std::size_t{i} * 16;
    const std::uint32_t tag = be32(blob, at), type = be32(blob, at + 4), offset = be32(blob, at + 8);
    const bool text = type == kTypeString || type == kTypeI18nString;
    if (tag == kTagEpoch && type == kTypeInt32) {
      if (std::size_t{offset} + 4 > data.size()) malformed(where, "a header's EPOCH lies outside its data");
      out.epoch = be32(data, offset);
    } else if (text && (tag == kTagName || tag == kTagVersion || tag == kTagRelease || tag == kTagArch)) {
      std::string value = string_at(data, offset, where);
      (tag == kTagName ? out.name : tag == kTagVersion ? out.version : tag == kTagRelease ? out.release : out.arch) =
          std::move(value);
    }
  }
  if (out.name.empty()) malformed(where, "a header has no NAME");
  return out;
}

std::vector<Package> read_rpmdb_sqlite(std::string bytes, const std::string& where) {
  Db db = open_in_memory(bytes, where);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT blob FROM Packages", -1, &raw, nullptr) != SQLITE_OK) {
    malformed(where, sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, FinalizeStatement> statement(raw);
  std::vector<Package> out;
  for (int rc; (rc = sqlite3_step(raw)) != SQLITE_DONE;) {
    if (rc != SQLITE_ROW) malformed(where, sqlite3_errmsg(db.get()));
    if (out.size() == kMaxPackages) malformed(where, "more than " + std::to_string(kMaxPackages) + " packages");
    const void* blob = sqlite3_column_blob(raw, 0);
    const int size = sqlite3_column_bytes(raw, 0);
    const std::string_view header(static_cast<const char*>(blob), blob == nullptr ? 0 : static_cast<std::size_t>(size));
    const RpmHeaderFields fields = parse_rpm_header_blob(header, where);
    out.push_back({fields.name, version_of(fields), fields.arch});
  }
  std::sort(out.begin(), out.end(), [](const Package& a, const Package& b) {
    return std::tie(a.name, a.version, a.architecture) < std::tie(b.name, b.version, b.architecture);
  });
  return out;
}

}  // namespace stage::inspector
