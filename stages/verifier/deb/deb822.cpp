#include "stages/verifier/deb/deb822.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "base/error.hpp"

namespace stage::verifier {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

bool valid_field_name(std::string_view name) {
  return !name.empty() && name.front() != '#' && name.front() != '-' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return c > ' ' && c < 0x7f && c != ':';
         });
}

template <typename T>
std::optional<T> to_number(std::string_view s) {
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// "+0100" → 3600 s; "UTC", "GMT", "Z" → 0.
std::optional<std::chrono::seconds> parse_zone(std::string_view zone) {
  if (zone == "UTC" || zone == "GMT" || zone == "Z" || zone == "UT") {
    return std::chrono::seconds(0);
  }
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-')) return std::nullopt;
  const auto hh = to_number<int>(zone.substr(1, 2));
  const auto mm = to_number<int>(zone.substr(3, 2));
  if (!hh || !mm || *hh > 23 || *mm > 59) return std::nullopt;
  const std::chrono::seconds offset(*hh * 3600 + *mm * 60);
  return zone[0] == '+' ? offset : -offset;
}

}  // namespace

std::optional<std::string_view> Deb822Paragraph::get(std::string_view name) const {
  for (const Deb822Field& f : fields) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::vector<Deb822Paragraph> parse_deb822(std::string_view text, std::string_view origin) {
  std::vector<Deb822Paragraph> paragraphs;
  Deb822Paragraph current;
  std::size_t line_no = 0;
  auto fail_at = [&](std::string_view why) {
    base::fail(base::ErrorKind::kInvalidInput,
              "Failed to parse '" + std::string(origin) + "' line " +
                  std::to_string(line_no) + ": " + std::string(why));
  };
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      if (!current.fields.empty()) paragraphs.push_back(std::move(current));
      current = {};
      continue;
    }
    if (line.front() == '#') continue;
    if (line.front() == ' ' || line.front() == '\t') {
      if (current.fields.empty()) fail_at("continuation line without a field");
      const std::string_view part = trim(line);
      std::string& value = current.fields.back().value;
      value.push_back('\n');
      if (part != ".") value.append(part);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) fail_at("expected 'Field: value'");
    const std::string_view name = line.substr(0, colon);
    if (!valid_field_name(name)) fail_at("invalid field name '" + std::string(name) + "'");
    if (current.get(name)) fail_at("duplicate field '" + std::string(name) + "'");
    current.fields.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
  }
  if (!current.fields.empty()) paragraphs.push_back(std::move(current));
  return paragraphs;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find_first_not_of(" \t\r\n", i);
    if (start == std::string_view::npos) break;
    auto end = text.find_first_of(" \t\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    words.emplace_back(text.substr(start, end - start));
    i = end;
  }
  return words;
}

std::optional<std::chrono::sys_seconds> parse_rfc2822_date(std::string_view text) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::vector<std::string> w = split_words(text);
  if (!w.empty() && w.front().size() == 4 && w.front().back() == ',') w.erase(w.begin());
  if (w.size() != 5) return std::nullopt;
  const auto day = to_number<unsigned>(w[0]);
  const auto month = std::find(kMonths.begin(), kMonths.end(), w[1]);
  const auto year = to_number<int>(w[2]);
  const auto zone = parse_zone(w[4]);
  const std::string_view hms = w[3];
  if (!day || month == kMonths.end() || !year || !zone || hms.size() != 8 ||
      hms[2] != ':' || hms[5] != ':') {
    return std::nullopt;
  }
  const auto h = to_number<int>(hms.substr(0, 2));
  const auto m = to_number<int>(hms.substr(3, 2));
  const auto s = to_number<int>(hms.substr(6, 2));
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{
      std::chrono::year(*year),
      std::chrono::month(static_cast<unsigned>(month - kMonths.begin() + 1)),
      std::chrono::day(*day)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_seconds(std::chrono::sys_days(ymd)) +
         std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(*s) -
         *zone;
}

}  // namespace stage::verifier
