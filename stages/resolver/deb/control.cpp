#include "stages/resolver/deb/control.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/resolver/deb/deb_version.hpp"
#include "stages/verifier/index_decompress.hpp"

namespace stage::resolver {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals_same_size(std::string_view a, std::string_view b) noexcept {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The size test stays inline: most comparisons (the duplicate-field check,
// field lookup) fail on it.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && iequals_same_size(a, b);
}

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void fail_at(std::string_view origin, std::size_t line, std::string_view what) {
  std::string msg = "Failed to parse control data '";
  msg.append(origin).append("' at line ").append(std::to_string(line)).append(": ").append(what);
  base::fail(base::ErrorKind::kInvalidInput, std::move(msg));
}

}  // namespace

// Walks the text line by line, filling one reused Paragraph.
class ParagraphReader {
 public:
  ParagraphReader(std::string_view text, std::string_view origin) : text_(text), origin_(origin) {}

  void run(const std::function<void(const Paragraph&)>& fn) {
    std::size_t pos = 0;
    std::size_t line_no = 0;
    const char* base = text_.data();
    while (pos < text_.size()) {
      ++line_no;
      const void* nl = std::memchr(base + pos, '\n', text_.size() - pos);
      const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) : text_.size();
      const std::string_view line = text_.substr(pos, end - pos);
      handle_line(line, line_no, fn);
      pos = end + 1;
    }
    flush(fn);
  }

 private:
  void handle_line(std::string_view line, std::size_t line_no,
                   const std::function<void(const Paragraph&)>& fn) {
    if (trim(line).empty()) {
      flush(fn);
      return;
    }
    if (line.front() == '#') return;  // deb822 comment
    if (is_blank(line.front())) {
      if (para_.fields_.empty()) fail_at(origin_, line_no, "continuation line before any field");
      Field& last = para_.fields_.back();
      const char* start = last.value.empty() ? line.data() : last.value.data();
      // Keep the raw span from the start of the value to the end of this line.
      last.value = trim(std::string_view(start, static_cast<std::size_t>(line.data() + line.size() - start)));
      return;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      fail_at(origin_, line_no, "field '" + std::string(line.substr(0, 40)) + "' has no name or no ':'");
    }
    const std::string_view name = line.substr(0, colon);
    for (const Field& f : para_.fields_) {
      if (iequals(f.name, name)) fail_at(origin_, line_no, "duplicate field '" + std::string(name) + "'");
    }
    if (para_.fields_.empty()) para_.line_ = line_no;
    para_.fields_.push_back(Field{name, trim(line.substr(colon + 1))});
  }

  void flush(const std::function<void(const Paragraph&)>& fn) {
    if (para_.fields_.empty()) return;
    fn(para_);
    para_.fields_.clear();
  }

  std::string_view text_;
  std::string_view origin_;
  Paragraph para_;
};

std::optional<std::string_view> Paragraph::raw(std::string_view name) const noexcept {
  for (const Field& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

std::optional<std::string> Paragraph::value(std::string_view name) const {
  auto raw_value = raw(name);
  if (!raw_value) return std::nullopt;
  std::string out;
  std::string_view rest = *raw_value;
  bool first = true;
  while (true) {
    const std::size_t nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    if (!first) out.push_back('\n');
    if (!first && line == ".") line = {};
    out.append(line);
    first = false;
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return out;
}

void for_each_paragraph(std::string_view text, const std::function<void(const Paragraph&)>& fn) {
  ParagraphReader(text, "<text>").run(fn);
}

std::vector<std::vector<std::pair<std::string, std::string>>> parse_paragraphs(std::string_view text) {
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  for_each_paragraph(text, [&](const Paragraph& p) {
    auto& fields = out.emplace_back();
    for (const Field& f : p.fields()) fields.emplace_back(std::string(f.name), *p.value(f.name));
  });
  return out;
}

namespace {

// Points one field of the flat stanza at its value; unknown fields are ignored.
void assign_field(PackageStanza& s, const Field& f, std::string_view origin, std::size_t line) {
  const std::string_view n = f.name;
  const std::string_view v = f.value;
  if (iequals(n, "Package")) s.package = v;
  else if (iequals(n, "Version")) s.version = v;
  else if (iequals(n, "Architecture")) s.architecture = v;
  else if (iequals(n, "Multi-Arch")) s.multi_arch = v;
  else if (iequals(n, "Depends")) s.depends = v;
  else if (iequals(n, "Pre-Depends")) s.pre_depends = v;
  else if (iequals(n, "Provides")) s.provides = v;
  else if (iequals(n, "Conflicts")) s.conflicts = v;
  else if (iequals(n, "Breaks")) s.breaks = v;
  else if (iequals(n, "Filename")) s.filename = v;
  else if (iequals(n, "SHA256")) s.sha256 = v;
  else if (iequals(n, "Priority")) s.priority = v;
  else if (iequals(n, "Source")) s.source = v;
  else if (iequals(n, "Essential")) s.essential = iequals(v, "yes");
  else if (iequals(n, "Size")) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s.size);
    if (ec != std::errc() || end != v.data() + v.size()) {
      fail_at(origin, line, "invalid Size '" + std::string(v) + "'");
    }
  }
}

// Throws when the stanza lacks a field the resolver needs or has an invalid
// version. The message is built only then: this runs once per stanza.
void check_stanza(const PackageStanza& s, std::string_view origin, std::size_t line) {
  if (s.package.empty()) fail_at(origin, line, "stanza has no Package field");
  auto fail = [&](std::string_view what) {
    fail_at(origin, line, "package '" + std::string(s.package) + "' " + std::string(what));
  };
  if (s.version.empty()) fail("has no Version field");
  if (s.architecture.empty()) fail("has no Architecture field");
  if (s.filename.empty()) fail("has no Filename field");
  if (!is_valid_version(s.version)) fail("has invalid version '" + std::string(s.version) + "'");
}

}  // namespace

std::vector<PackageStanza> parse_packages_index(std::string_view text, std::string_view origin) {
  std::vector<PackageStanza> out;
  reserve_huge(out, text.size() / 700);  // a bookworm stanza averages ~750 bytes
  ParagraphReader(text, origin).run([&](const Paragraph& p) {
    PackageStanza& s = out.emplace_back();
    for (const Field& f : p.fields()) assign_field(s, f, origin, p.line());
    check_stanza(s, origin, p.line());
  });
  return out;
}

bool is_compressed_index(std::string_view data) noexcept {
  static constexpr std::string_view kMagics[] = {
      {"\x1f\x8b", 2},                  // gzip
      {"\xfd" "7zXZ\x00", 6},           // xz
      {"\x28\xb5\x2f\xfd", 4},        // zstd
      {"\x5d\x00\x00", 3},             // lzma (alone)
  };
  for (const std::string_view magic : kMagics) {
    if (data.starts_with(magic)) return true;
  }
  // bzip2: "BZh" and the block size digit.
  return data.size() >= 4 && data.starts_with("BZh") && data[3] >= '1' && data[3] <= '9';
}

std::string take_index_text(std::string data, std::string_view origin) {
  if (!is_compressed_index(data)) return data;
  return decompress_index(std::string_view(data), origin);
}

std::string decompress_index(std::string_view data, std::string_view origin, const verifier::TextLimit& limit) {
  if (data.empty()) return {};
  if (!is_compressed_index(data)) return std::string(data);
  std::string out;
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(data.size() * 6, limit.bytes)));
  verifier::decompress_bounded(data, origin, limit,
                               [&out](std::string_view chunk) { out.append(chunk); });
  return out;
}

IndexText read_index_file(const std::filesystem::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  base::check_syscall(fd.get(), "open Packages index", path.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat Packages index", path.string());
  return load_index_text(fd.get(), st, "'" + path.string() + "'");
}

}  // namespace stage::resolver
