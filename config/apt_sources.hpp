// The machine's apt sources: where the Debian repository of a build comes
// from when a template names none. Both apt formats are read: the one-line
// format of sources.list and *.list, and deb822 stanzas of *.sources.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

// One repository apt would use: one URI serving one suite. A deb822 stanza
// with several URIs or suites becomes several AptSource values.
struct AptSource {
  std::string uri;                         // as written, without a trailing '/'
  std::string suite;                       // "bookworm", or "./" style flat path
  std::vector<std::string> components;     // empty for flat repositories
  std::vector<std::string> architectures;  // empty = apt's default
  std::vector<std::string> signed_by;      // keyring paths or key fingerprints
  std::string signed_by_key;               // inline ASCII-armored key block, if any
  bool trusted = false;                    // [trusted=yes] / Trusted: yes
  std::filesystem::path file;              // where it was read from
  int line = 0;                            // 1-based line of the entry/stanza
};

// Parses the one-line format. deb-src entries and comments are skipped.
// Throws base::Error (kInvalidInput) naming `file` and the line.
std::vector<AptSource> parse_one_line_sources(std::string_view text,
                                              const std::filesystem::path& file);

// Parses deb822 stanzas. Entries without Types "deb" or with "Enabled: no"
// are skipped. Throws base::Error (kInvalidInput) naming `file` and the line.
std::vector<AptSource> parse_deb822_sources(std::string_view text,
                                            const std::filesystem::path& file);

// Reads <etc_apt>/sources.list and <etc_apt>/sources.list.d/*.{list,sources}
// in apt's order (sources.list first, then the directory sorted by name).
// Files with other extensions are ignored, as apt does.
std::vector<AptSource> read_apt_sources(const std::filesystem::path& etc_apt = "/etc/apt");

// The first entry serving `suite` with `component` (the entry a Debian
// provider uses for e.g. bookworm main), or nullopt.
std::optional<AptSource> find_debian_source(const std::vector<AptSource>& sources,
                                            std::string_view suite,
                                            std::string_view component = "main");

}  // namespace config
