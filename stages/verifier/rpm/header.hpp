// A bounds-checked reader of the RPM file layout: the 96-byte lead, the
// signature header (padded to 8 bytes), the main header, then the payload.
// Every index entry is checked against its header's data before any value is
// read, counts and sizes are capped before anything is allocated, and every
// refusal names the package and the part. Only what the verifier needs is
// exposed: nothing here trusts the payload (a cpio that lies about owners).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stage::verifier::rpm {

// Signature header tags.
inline constexpr std::uint32_t kSigTagDsa = 267;     // OpenPGP over the main header
inline constexpr std::uint32_t kSigTagRsa = 268;     // OpenPGP over the main header
inline constexpr std::uint32_t kSigTagSha256 = 273;  // hex SHA-256 of the main header
// Main header tags.
inline constexpr std::uint32_t kTagName = 1000;
inline constexpr std::uint32_t kTagVersion = 1001;
inline constexpr std::uint32_t kTagRelease = 1002;
inline constexpr std::uint32_t kTagEpoch = 1003;
inline constexpr std::uint32_t kTagArch = 1022;
inline constexpr std::uint32_t kTagOldFilenames = 1027;
inline constexpr std::uint32_t kTagFileModes = 1030;
inline constexpr std::uint32_t kTagFileRdevs = 1033;
inline constexpr std::uint32_t kTagFileFlags = 1037;
inline constexpr std::uint32_t kTagFileUsername = 1039;
inline constexpr std::uint32_t kTagFileGroupname = 1040;
inline constexpr std::uint32_t kTagDirIndexes = 1116;
inline constexpr std::uint32_t kTagBasenames = 1117;
inline constexpr std::uint32_t kTagDirNames = 1118;
inline constexpr std::uint32_t kTagPayloadDigest = 5092;
inline constexpr std::uint32_t kTagPayloadDigestAlgo = 5093;
inline constexpr std::uint32_t kDigestAlgoSha256 = 8;

// rpm's own limits (HEADER_DATA_MAX, hdrchkTags).
inline constexpr std::uint32_t kMaxEntries = 64 * 1024;
inline constexpr std::uint32_t kMaxDataBytes = 256u * 1024 * 1024;

// One header structure: 8 bytes magic, index count, data size, the index
// (tag, type, offset, count; big-endian), then the data.
class Header {
 public:
  // Parses the header at the start of `bytes` (which may go on past it);
  // `what` names it in errors ("package 'x': signature header").
  static Header parse(std::string_view bytes, std::string what);
  // The header's size in bytes before padding: 16 + 16 * entries + data.
  static std::size_t size_from_intro(std::string_view intro16, const std::string& what);

  const std::string& blob() const noexcept { return blob_; }  // magic .. end of data
  bool has(std::uint32_t tag) const noexcept { return find(tag) != nullptr; }
  // Values of a tag; nullopt when the tag is absent. A tag present with
  // another type, or a string without its terminating NUL, is refused.
  std::optional<std::string> string(std::uint32_t tag) const;
  std::optional<std::vector<std::string>> strings(std::uint32_t tag) const;
  std::optional<std::vector<std::uint32_t>> int32s(std::uint32_t tag) const;
  std::optional<std::vector<std::uint16_t>> int16s(std::uint32_t tag) const;
  std::optional<std::string> bytes(std::uint32_t tag) const;  // BIN

 private:
  struct Entry {
    std::uint32_t tag, type, offset, count;
  };
  const Entry* find(std::uint32_t tag) const noexcept;
  const Entry& require_type(std::uint32_t tag, std::initializer_list<std::uint32_t> types) const;
  std::vector<std::string> read_strings(const Entry& e) const;
  [[noreturn]] void refuse(const std::string& why) const;

  std::string what_;
  std::string blob_;
  std::vector<Entry> entries_;
  std::size_t data_at_ = 0;  // offset of the data in blob_
};

struct Package {
  Header signature;
  Header main;
  std::uint64_t main_offset = 0;     // where the main header starts in the file
  std::uint64_t payload_offset = 0;  // the first byte after the main header
};

// Reads lead and both headers of the .rpm open at `fd` (from offset 0); the
// payload is left unread. `what` names the package in errors ("package 'x'").
Package read_package(int fd, std::string_view what);
// The same over bytes in memory (everything past the main header is payload).
Package parse_package(std::string_view file, std::string_view what);

}  // namespace stage::verifier::rpm
