// deb822 control paragraphs (Packages indexes) and the reading of
// Packages, Packages.gz and Packages.xz files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/resolver/deb/index_text.hpp"
#include "stages/verifier/index_decompress.hpp"

namespace stage::resolver {

// One "Name: value" field. Both views point into the parsed text; `value` is
// the raw span including continuation lines (newline + leading space), with
// the separator whitespace and the final newline trimmed.
struct Field {
  std::string_view name;
  std::string_view value;
};

class Paragraph {
 public:
  const std::vector<Field>& fields() const noexcept { return fields_; }
  // Field names compare case-insensitively, as in deb822.
  std::optional<std::string_view> raw(std::string_view name) const noexcept;
  // The value with continuation lines unfolded: each line trimmed, a line
  // consisting of " ." becomes an empty line, lines joined with '\n'.
  std::optional<std::string> value(std::string_view name) const;
  // First line of the paragraph in the text (1-based), for error messages.
  std::size_t line() const noexcept { return line_; }

 private:
  friend class ParagraphReader;
  std::vector<Field> fields_;
  std::size_t line_ = 0;
};

// Calls `fn` once per paragraph of `text`. The Paragraph is reused between
// calls; its views stay valid as long as `text` does. Throws base::Error
// (kInvalidInput) for a field without ':', a continuation line before any
// field, or a field that appears twice in one paragraph.
void for_each_paragraph(std::string_view text, const std::function<void(const Paragraph&)>& fn);

// Convenience for tests and small files: copies of every paragraph.
std::vector<std::vector<std::pair<std::string, std::string>>> parse_paragraphs(std::string_view text);

// Binary package stanza of a Packages index: the fields the resolver uses,
// flat (no per-field map), as views into the index text (raw values as
// Field has them; a missing field is empty). Relation fields keep their raw
// text.
struct PackageStanza {
  std::string_view package;
  std::string_view version;
  std::string_view architecture;
  std::string_view multi_arch;  // "", "same", "foreign", "allowed", "no"
  std::string_view depends;
  std::string_view pre_depends;
  std::string_view provides;
  std::string_view conflicts;
  std::string_view breaks;
  std::string_view filename;
  std::string_view sha256;
  std::string_view priority;
  std::string_view source;
  std::uint64_t size = 0;
  bool essential = false;
};

// Parses every stanza of a Packages index; the stanzas view into `text`,
// which must outlive them. Throws base::Error (kInvalidInput) naming
// `origin` and the line when a stanza lacks Package, Version, Architecture
// or Filename, or has an invalid version or size.
std::vector<PackageStanza> parse_packages_index(std::string_view text, std::string_view origin);

// Decompresses gzip, xz, bzip2, zstd or plain data (detected by content,
// through libarchive's raw format). `origin` names the data in errors
// ("Packages index of repository 'x'", a quoted path). The
// text stops at `limit` (the verifier's bound): a trusted repository's index
// skips the verifier, and a bomb must fail while it expands.
std::string decompress_index(std::string_view data, std::string_view origin,
                             const verifier::TextLimit& limit = {});

// True when `data` starts with the magic bytes of a compression format
// decompress_index reads (gzip, xz, bzip2, zstd, lzma); a Packages text
// never does, so plain text needs no copy.
bool is_compressed_index(std::string_view data) noexcept;

// `data` decompressed, or moved through unchanged when it is plain text.
std::string take_index_text(std::string data, std::string_view origin);

// Reads a Packages, Packages.gz or Packages.xz file (a plain one is mapped,
// see load_index_text).
IndexText read_index_file(const std::filesystem::path& path);

}  // namespace stage::resolver
