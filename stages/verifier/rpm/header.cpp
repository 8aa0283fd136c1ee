#include "stages/verifier/rpm/header.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace stage::verifier::rpm {
namespace {

constexpr std::size_t kLeadSize = 96;
constexpr std::string_view kLeadMagic = "\xed\xab\xee\xdb";
constexpr std::string_view kHeaderMagic{"\x8e\xad\xe8\x01\0\0\0\0", 8};
constexpr std::size_t kIntroSize = 16;
constexpr std::size_t kEntrySize = 16;
// No tag the verifier reads holds more values than this (a file list of a
// million entries); the cap bounds what a value list costs beside the data.
constexpr std::uint32_t kMaxValues = 1024 * 1024;

enum Type : std::uint32_t {
  kChar = 1, kInt8 = 2, kInt16 = 3, kInt32 = 4, kInt64 = 5,
  kString = 6, kBin = 7, kStringArray = 8, kI18nString = 9,
};

std::uint32_t be32(std::string_view b, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Bytes per value of a fixed-size type; 0 for strings and BIN.
std::size_t value_size(std::uint32_t type) {
  switch (type) {
    case kChar: case kInt8: return 1;
    case kInt16: return 2;
    case kInt32: return 4;
    case kInt64: return 8;
    default: return 0;
  }
}

[[noreturn]] void refuse_part(const std::string& what, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + what + ": " + why);
}

// Where the bytes of a package come from: an fd or memory.
class Source {
 public:
  virtual ~Source() = default;
  virtual std::uint64_t size() const = 0;
  // Exactly `n` bytes at `offset`; the caller has checked they exist.
  virtual std::string read(std::uint64_t offset, std::size_t n) const = 0;

  std::string read_part(std::uint64_t offset, std::uint64_t n, const std::string& part) const {
    if (offset > size() || n > size() - offset) {
      refuse_part(part, "the file is truncated (" + std::to_string(size()) + " bytes, the part needs " +
                       std::to_string(offset + n) + ")");
    }
    return read(offset, static_cast<std::size_t>(n));
  }
};

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  std::uint64_t size() const override { return bytes_.size(); }
  std::string read(std::uint64_t offset, std::size_t n) const override {
    return std::string(bytes_.substr(static_cast<std::size_t>(offset), n));
  }

 private:
  std::string_view bytes_;
};

class FdSource final : public Source {
 public:
  FdSource(int fd, const std::string& what) : fd_(fd), what_(what) {
    struct stat st{};
    base::check_syscall(::fstat(fd, &st), "fstat", what);
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  std::uint64_t size() const override { return size_; }
  std::string read(std::uint64_t offset, std::size_t n) const override {
    std::string out(n, '\0');
    for (std::size_t done = 0; done < n;) {
      const ssize_t got = ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      base::check_syscall(got, "pread", what_);
      if (got == 0) refuse_part(what_, "the file shrank while it was read");
      done += static_cast<std::size_t>(got);
    }
    return out;
  }

 private:
  int fd_;
  std::string what_;
  std::uint64_t size_ = 0;
};

// Reads one header starting at `offset`: its intro first, so that the size
// it claims is checked against the caps and the file before it is read.
Header read_header(const Source& source, std::uint64_t offset, const std::string& what) {
  const std::string intro = source.read_part(offset, kIntroSize, what);
  const std::size_t size = Header::size_from_intro(intro, what);
  return Header::parse(source.read_part(offset, size, what), what);
}

Package read_layout(const Source& source, std::string_view what) {
  const std::string package(what);
  const std::string lead = source.read_part(0, kLeadSize, package + ": lead");
  if (std::string_view(lead).substr(0, 4) != kLeadMagic) {
    refuse_part(package + ": lead", "not an RPM file (wrong lead magic)");
  }
  Package out{read_header(source, kLeadSize, package + ": signature header"), {}, 0, 0};
  const std::size_t signature_size = out.signature.blob().size();
  out.main_offset = kLeadSize + signature_size + (8 - signature_size % 8) % 8;
  out.main = read_header(source, out.main_offset, package + ": main header");
  out.payload_offset = out.main_offset + out.main.blob().size();
  return out;
}

}  // namespace

std::size_t Header::size_from_intro(std::string_view intro, const std::string& what) {
  if (intro.size() < kIntroSize) refuse_part(what, "truncated before the end of its intro");
  if (intro.substr(0, kHeaderMagic.size()) != kHeaderMagic) refuse_part(what, "wrong header magic");
  const std::uint32_t entries = be32(intro, 8);
  const std::uint32_t data = be32(intro, 12);
  if (entries == 0) refuse_part(what, "the header has no entries");
  if (entries > kMaxEntries) {
    refuse_part(what, std::to_string(entries) + " entries (at most " + std::to_string(kMaxEntries) + ")");
  }
  if (data > kMaxDataBytes) {
    refuse_part(what, std::to_string(data) + " bytes of data (at most " + std::to_string(kMaxDataBytes) + ")");
  }
  return kIntroSize + kEntrySize * std::size_t{entries} + data;
}

Header Header::parse(std::string_view bytes, std::string what) {
  Header h;
  h.what_ = std::move(what);
  const std::size_t size = size_from_intro(bytes.substr(0, std::min(bytes.size(), kIntroSize)), h.what_);
  if (bytes.size() < size) h.refuse("truncated (" + std::to_string(size) + " bytes claimed)");
  h.blob_ = std::string(bytes.substr(0, size));
  const std::uint32_t count = be32(h.blob_, 8);
  const std::uint32_t data = be32(h.blob_, 12);
  h.data_at_ = kIntroSize + kEntrySize * std::size_t{count};
  h.entries_.reserve(count);  // capped by size_from_intro
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t at = kIntroSize + kEntrySize * i;
    const Entry e{be32(h.blob_, at), be32(h.blob_, at + 4), be32(h.blob_, at + 8), be32(h.blob_, at + 12)};
    const std::string entry = "entry " + std::to_string(i) + " (tag " + std::to_string(e.tag) + ")";
    if (e.type < kChar || e.type > kI18nString) h.refuse(entry + " has the unknown type " + std::to_string(e.type));
    if (e.count == 0) h.refuse(entry + " has no values");
    if (e.offset >= data) h.refuse(entry + " starts at offset " + std::to_string(e.offset) + ", past the data");
    const std::size_t room = data - e.offset;
    const std::size_t each = value_size(e.type);
    if (each != 0 && e.offset % each != 0) h.refuse(entry + " is misaligned");
    // Fixed-size values must fit; each string needs at least its NUL.
    if (e.count > room / std::max<std::size_t>(each, 1)) h.refuse(entry + " runs past the data");
    if (e.type == kString && e.count != 1) h.refuse(entry + " is a string with a count of " + std::to_string(e.count));
    h.entries_.push_back(e);
  }
  return h;
}

void Header::refuse(const std::string& why) const { refuse_part(what_, why); }

const Header::Entry* Header::find(std::uint32_t tag) const noexcept {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.tag == tag; });
  return it == entries_.end() ? nullptr : &*it;
}

const Header::Entry& Header::require_type(std::uint32_t tag, std::initializer_list<std::uint32_t> types) const {
  const Entry* e = find(tag);
  if (std::find(types.begin(), types.end(), e->type) == types.end()) {
    refuse("tag " + std::to_string(tag) + " has the unexpected type " + std::to_string(e->type));
  }
  if (e->count > kMaxValues) refuse("tag " + std::to_string(tag) + " has too many values (" + std::to_string(e->count) + ")");
  return *e;
}

// Strings are checked for their NUL when read, not when parsed: a scan per
// entry at parse time would cost entries x data on a hostile header.
std::vector<std::string> Header::read_strings(const Entry& e) const {
  std::vector<std::string> out;
  std::size_t at = data_at_ + e.offset;
  for (std::uint32_t i = 0; i < e.count; ++i) {
    const std::size_t nul = blob_.find('\0', at);
    if (nul == std::string::npos) refuse("tag " + std::to_string(e.tag) + " holds an unterminated string");
    out.push_back(blob_.substr(at, nul - at));
    at = nul + 1;
  }
  return out;
}

std::optional<std::string> Header::string(std::uint32_t tag) const {
  if (!has(tag)) return std::nullopt;
  const Entry& e = require_type(tag, {kString, kStringArray, kI18nString});
  return read_strings(e).front();
}

std::optional<std::vector<std::string>> Header::strings(std::uint32_t tag) const {
  if (!has(tag)) return std::nullopt;
  return read_strings(require_type(tag, {kStringArray, kString, kI18nString}));
}

std::optional<std::vector<std::uint32_t>> Header::int32s(std::uint32_t tag) const {
  if (!has(tag)) return std::nullopt;
  const Entry& e = require_type(tag, {kInt32});
  std::vector<std::uint32_t> out(e.count);
  for (std::uint32_t i = 0; i < e.count; ++i) out[i] = be32(blob_, data_at_ + e.offset + 4 * std::size_t{i});
  return out;
}

std::optional<std::vector<std::uint16_t>> Header::int16s(std::uint32_t tag) const {
  if (!has(tag)) return std::nullopt;
  const Entry& e = require_type(tag, {kInt16});
  std::vector<std::uint16_t> out(e.count);
  for (std::uint32_t i = 0; i < e.count; ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(blob_.data() + data_at_ + e.offset + 2 * std::size_t{i});
    out[i] = static_cast<std::uint16_t>(p[0] << 8 | p[1]);
  }
  return out;
}

std::optional<std::string> Header::bytes(std::uint32_t tag) const {
  if (!has(tag)) return std::nullopt;
  const Entry& e = require_type(tag, {kBin});
  return blob_.substr(data_at_ + e.offset, e.count);
}

Package read_package(int fd, std::string_view what) { return read_layout(FdSource(fd, std::string(what)), what); }

Package parse_package(std::string_view file, std::string_view what) { return read_layout(MemorySource(file), what); }

}  // namespace stage::verifier::rpm
