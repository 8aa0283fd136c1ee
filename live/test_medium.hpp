// Test helper: an install medium in a scratch directory, as the ISO carries
// it (images/*.raw.gz, config/*.lock.json, install/manifest.json), with the
// manifest's hashes computed from what was written.
#pragma once

#include <zlib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "stages/fetcher/sha256.hpp"
#include "tests/support/temp_dir.hpp"

namespace live::testing {

inline std::string sha256_of(const std::string& bytes) {
  stage::fetcher::Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.finish_hex();
}

inline std::string gzip_of(const std::string& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size())) + 64;
  std::string out(size, '\0');
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Raw bytes that are not all alike, so a misplaced chunk shows.
inline std::string patterned_raw(std::size_t size) {
  std::string raw(size, '\0');
  for (std::size_t i = 0; i < size; ++i) raw[i] = static_cast<char>((i * 7 + i / 4096) & 0xff);
  return raw;
}

struct Medium {
  tests::TempDir dir{"oic-live-medium"};
  std::string raw;
  std::string gz;
  nlohmann::json manifest;

  explicit Medium(std::string raw_bytes) : raw(std::move(raw_bytes)), gz(gzip_of(raw)) {
    const std::string lock = "{\"packages\": []}\n";
    dir.write("images/x-1.0.raw.gz", gz);
    dir.write("config/x-1.0.lock.json", lock);
    dir.write("config/template-dump.yaml", "image: {name: x}\n");
    manifest = {{"format", 1},
                {"image", {{"path", "images/x-1.0.raw.gz"}, {"compression", "gzip"}, {"sha256", sha256_of(gz)},
                           {"size", gz.size()}, {"rawSha256", sha256_of(raw)}, {"rawSize", raw.size()}}},
                {"rootPartition", 2}, {"rootFsType", "ext4"}, {"espPartition", 1}, {"diskPath", "/dev/vda"},
                {"hostname", "debian12"},
                {"lockfile", {{"path", "config/x-1.0.lock.json"}, {"sha256", sha256_of(lock)}}},
                {"template", "config/template-dump.yaml"}};
    save();
  }
  void save() const { dir.write("install/manifest.json", manifest.dump(2)); }
  // Replaces the .gz file on the medium (the manifest keeps its hashes).
  void replace_gz(const std::string& bytes) const { dir.write("images/x-1.0.raw.gz", bytes); }
};

}  // namespace live::testing
