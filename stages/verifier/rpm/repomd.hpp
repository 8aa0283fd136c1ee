// RPM repository metadata: repodata/repomd.xml, the one file a repository
// signs (repomd.xml.asc), listing every other metadata file with its
// SHA-256 and size, compressed and uncompressed. Parsed with expat, with
// every entity declaration refused (no billion laughs, no external files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/verifier/checksums.hpp"

namespace stage::verifier::rpm {

// Larger than any real repomd.xml (a few KiB) by far; bounds what expat reads.
inline constexpr std::size_t kMaxRepomdBytes = 16u << 20;

// One <data type="..."> entry.
struct RepomdData {
  std::string type;      // "primary", "filelists", "other", ...
  std::string location;  // <location href>, "repodata/<hash>-primary.xml.gz"
  Digest checksum;       // <checksum type="sha256"> and <size>
  std::optional<Digest> open;  // <open-checksum> and <open-size>: the uncompressed file
};

struct Repomd {
  std::string revision;  // <revision>, as written
  std::vector<RepomdData> data;  // in file order

  const RepomdData* find_location(std::string_view location) const;
};

// Refuses a DTD entity, malformed or truncated XML, a checksum other than
// SHA-256, a missing size, and a location that is absolute, holds "..",
// or is not under repodata/. `origin` names the file (and its repository)
// in every message.
Repomd parse_repomd(std::string_view xml, std::string_view origin);

}  // namespace stage::verifier::rpm
