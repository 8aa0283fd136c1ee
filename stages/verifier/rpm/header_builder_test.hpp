// Test helper: writes RPM headers and package files byte by byte (big-endian
// index entries, aligned data, the signature header padded to 8 bytes), so
// the parser's tests can make exactly the malformed input they need.
// Header-only, for GoogleTest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stage::verifier::rpm::test {

inline void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

inline void set32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (24 - 8 * i));
}

class HeaderBuilder {
 public:
  HeaderBuilder& string(std::uint32_t tag, std::string_view s) { return add(tag, 6, 1, 1, std::string(s) + '\0'); }
  HeaderBuilder& strings(std::uint32_t tag, const std::vector<std::string>& list) {
    std::string data;
    for (const auto& s : list) data += s + '\0';
    return add(tag, 8, static_cast<std::uint32_t>(list.size()), 1, data);
  }
  HeaderBuilder& int32s(std::uint32_t tag, const std::vector<std::uint32_t>& values) {
    std::string data;
    for (auto v : values) put32(data, v);
    return add(tag, 4, static_cast<std::uint32_t>(values.size()), 4, data);
  }
  HeaderBuilder& int16s(std::uint32_t tag, const std::vector<std::uint16_t>& values) {
    std::string data;
    for (auto v : values) data += std::string{static_cast<char>(v >> 8), static_cast<char>(v)};
    return add(tag, 3, static_cast<std::uint32_t>(values.size()), 2, data);
  }
  HeaderBuilder& bin(std::uint32_t tag, std::string_view bytes) {
    return add(tag, 7, static_cast<std::uint32_t>(bytes.size()), 1, std::string(bytes));
  }
  // An entry as given, for malformed headers.
  HeaderBuilder& raw(std::uint32_t tag, std::uint32_t type, std::uint32_t offset, std::uint32_t count) {
    index_.push_back({tag, type, offset, count});
    return *this;
  }
  HeaderBuilder& data(std::string_view bytes) {
    data_ += bytes;
    return *this;
  }

  std::string build() const {
    std::string out("\x8e\xad\xe8\x01\0\0\0\0", 8);
    put32(out, static_cast<std::uint32_t>(index_.size()));
    put32(out, static_cast<std::uint32_t>(data_.size()));
    for (const auto& e : index_) {
      put32(out, e.tag);
      put32(out, e.type);
      put32(out, e.offset);
      put32(out, e.count);
    }
    return out + data_;
  }

 private:
  struct Entry {
    std::uint32_t tag, type, offset, count;
  };
  HeaderBuilder& add(std::uint32_t tag, std::uint32_t type, std::uint32_t count, std::size_t align,
                     const std::string& bytes) {
    while (data_.size() % align != 0) data_.push_back('\0');
    index_.push_back({tag, type, static_cast<std::uint32_t>(data_.size()), count});
    data_ += bytes;
    return *this;
  }

  std::vector<Entry> index_;
  std::string data_;
};

inline std::string lead() {
  std::string out(96, '\0');
  out.replace(0, 4, "\xed\xab\xee\xdb");
  return out;
}

// lead + signature header + padding + main header + payload
inline std::string package_bytes(const std::string& signature, const std::string& main, std::string_view payload) {
  std::string out = lead() + signature;
  out.append((8 - signature.size() % 8) % 8, '\0');
  return out + main + std::string(payload);
}

// A small well-formed package with two files and every tag the parser reads.
inline std::string sample_package() {
  const std::string main = HeaderBuilder()
                               .string(1000, "app")
                               .string(1001, "1.0")
                               .string(1002, "1")
                               .string(1022, "noarch")
                               .int16s(1030, {0100644, 040755})
                               .int32s(1037, {0, 0})
                               .strings(1039, {"root", "root"})
                               .strings(1040, {"root", "svc"})
                               .int32s(1116, {0, 1})
                               .strings(1117, {"app", "oic"})
                               .strings(1118, {"/usr/bin/", "/etc/"})
                               .strings(5092, {"00"})
                               .int32s(5093, {8})
                               .build();
  const std::string signature = HeaderBuilder().string(273, "00").bin(268, "sig").build();
  return package_bytes(signature, main, "payload");
}

}  // namespace stage::verifier::rpm::test
