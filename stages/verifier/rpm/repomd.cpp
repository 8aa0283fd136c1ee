#include "stages/verifier/rpm/repomd.hpp"

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "base/error.hpp"

namespace stage::verifier::rpm {
namespace {

struct ParserDeleter {
  void operator()(XML_Parser parser) const noexcept { XML_ParserFree(parser); }
};

// Element names inside <data> whose text is kept.
enum class Field { kNone, kRevision, kChecksum, kOpenChecksum, kSize, kOpenSize };

struct PendingData {
  RepomdData entry;
  std::string size, open_size;
  bool has_checksum = false;
};

struct ParseState {
  XML_Parser parser = nullptr;
  std::string origin;
  Repomd out;
  int depth = 0;
  std::optional<PendingData> data;  // inside <data>
  Field field = Field::kNone;
  std::string text;
  std::string error;  // set before stopping the parser
};

[[noreturn]] void refuse(const std::string& origin, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to parse '" + origin + "': " + why);
}

void stop(ParseState& s, std::string why) {
  if (s.error.empty()) s.error = std::move(why);
  XML_StopParser(s.parser, XML_FALSE);
}

const char* attribute(const XML_Char** attrs, std::string_view name) {
  for (int i = 0; attrs[i] != nullptr; i += 2) {
    if (name == attrs[i]) return attrs[i + 1];
  }
  return nullptr;
}

// Only SHA-256 is accepted: a SHA-1 or MD5 entry could be matched by a
// forged file.
void start_checksum(ParseState& s, const XML_Char** attrs, Field field) {
  const char* type = attribute(attrs, "type");
  if (type == nullptr || std::string_view(type) != "sha256") {
    stop(s, "<data type=\"" + s.data->entry.type + "\"> has a " + std::string(type ? type : "untyped") +
                " checksum; only sha256 is accepted");
    return;
  }
  s.field = field;
}

void start_data_child(ParseState& s, std::string_view name, const XML_Char** attrs) {
  if (name == "checksum") {
    start_checksum(s, attrs, Field::kChecksum);
  } else if (name == "open-checksum") {
    start_checksum(s, attrs, Field::kOpenChecksum);
  } else if (name == "size") {
    s.field = Field::kSize;
  } else if (name == "open-size") {
    s.field = Field::kOpenSize;
  } else if (name == "location") {
    const char* href = attribute(attrs, "href");
    s.data->entry.location = href ? href : "";
  }
}

void XMLCALL on_start(void* user, const XML_Char* name_c, const XML_Char** attrs) {
  auto& s = *static_cast<ParseState*>(user);
  const std::string_view name(name_c);
  ++s.depth;
  s.text.clear();
  s.field = Field::kNone;
  if (s.depth == 1 && name != "repomd") {
    stop(s, "the root element is <" + std::string(name) + ">, not <repomd>");
  } else if (s.depth == 2 && name == "revision") {
    s.field = Field::kRevision;
  } else if (s.depth == 2 && name == "data") {
    const char* type = attribute(attrs, "type");
    s.data.emplace();
    s.data->entry.type = type ? type : "";
    if (s.data->entry.type.empty()) stop(s, "a <data> element has no type");
  } else if (s.depth == 3 && s.data) {
    start_data_child(s, name, attrs);
  }
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void end_field(ParseState& s) {
  std::string text = std::move(s.text);
  if (s.field == Field::kChecksum || s.field == Field::kOpenChecksum) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  switch (s.field) {
    case Field::kRevision: s.out.revision = std::move(text); break;
    case Field::kChecksum:
      s.data->entry.checksum.sha256 = std::move(text);
      s.data->has_checksum = true;
      break;
    case Field::kOpenChecksum: s.data->entry.open.emplace().sha256 = std::move(text); break;
    case Field::kSize: s.data->size = std::move(text); break;
    case Field::kOpenSize: s.data->open_size = std::move(text); break;
    case Field::kNone: break;
  }
  s.field = Field::kNone;
}

// Why `href` may not be fetched relative to the repository, or empty.
std::string location_problem(std::string_view href) {
  if (href.empty()) return "has no <location href>";
  if (href.front() == '/') return "is absolute";
  if (href.find("://") != std::string_view::npos) return "is a URL";
  for (std::size_t start = 0; start <= href.size();) {
    const std::size_t slash = std::min(href.find('/', start), href.size());
    if (href.substr(start, slash - start) == "..") return "contains '..'";
    start = slash + 1;
  }
  if (!href.starts_with("repodata/")) return "is not under repodata/";
  return {};
}

// Why the finished <data> entry is refused, or empty.
std::string finish_data(PendingData& d) {
  const std::string where = "<data type=\"" + d.entry.type + "\"> ";
  if (const std::string problem = location_problem(d.entry.location); !problem.empty()) {
    return where + "location '" + d.entry.location + "' " + problem;
  }
  if (!d.has_checksum || !is_sha256_hex(d.entry.checksum.sha256)) {
    return where + "has no sha256 <checksum> of 64 hex digits";
  }
  if (!parse_u64(d.size, d.entry.checksum.size)) return where + "has no valid <size>";
  if (d.entry.open) {
    if (!is_sha256_hex(d.entry.open->sha256)) return where + "has an <open-checksum> that is not 64 hex digits";
    if (!parse_u64(d.open_size, d.entry.open->size)) return where + "has an <open-checksum> without a valid <open-size>";
  }
  return {};
}

void XMLCALL on_end(void* user, const XML_Char* /*name*/) {
  auto& s = *static_cast<ParseState*>(user);
  if (s.field != Field::kNone) end_field(s);
  if (s.depth == 2 && s.data) {
    if (std::string problem = finish_data(*s.data); !problem.empty()) {
      stop(s, std::move(problem));
    } else if (s.out.find_location(s.data->entry.location) != nullptr) {
      stop(s, "location '" + s.data->entry.location + "' is listed twice");
    } else {
      s.out.data.push_back(std::move(s.data->entry));
    }
    s.data.reset();
  }
  --s.depth;
}

void XMLCALL on_text(void* user, const XML_Char* text, int length) {
  auto& s = *static_cast<ParseState*>(user);
  if (s.field != Field::kNone) s.text.append(text, static_cast<std::size_t>(length));
}

// Entities are how an XML file grows without bound (billion laughs) or
// reads other files; repomd.xml never declares any.
void XMLCALL on_entity_decl(void* user, const XML_Char* name, int, const XML_Char*, int, const XML_Char*,
                            const XML_Char*, const XML_Char*, const XML_Char*) {
  auto& s = *static_cast<ParseState*>(user);
  stop(s, "it declares the entity '" + std::string(name) + "' (entity declarations are refused)");
}

}  // namespace

const RepomdData* Repomd::find_location(std::string_view location) const {
  const auto it = std::find_if(data.begin(), data.end(), [&](const RepomdData& d) { return d.location == location; });
  return it == data.end() ? nullptr : &*it;
}

Repomd parse_repomd(std::string_view xml, std::string_view origin_view) {
  const std::string origin(origin_view);
  if (xml.size() > kMaxRepomdBytes) {
    refuse(origin, "it is " + std::to_string(xml.size()) + " bytes, more than the " +
                       std::to_string(kMaxRepomdBytes) + " accepted");
  }
  std::unique_ptr<XML_ParserStruct, ParserDeleter> parser(XML_ParserCreate("UTF-8"));
  base::check(parser != nullptr, "Failed to allocate an XML parser");
  ParseState s;
  s.parser = parser.get();
  s.origin = origin;
  XML_SetUserData(parser.get(), &s);
  XML_SetElementHandler(parser.get(), on_start, on_end);
  XML_SetCharacterDataHandler(parser.get(), on_text);
  XML_SetEntityDeclHandler(parser.get(), on_entity_decl);
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);
  const auto status = XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  if (!s.error.empty()) refuse(origin, s.error);
  if (status != XML_STATUS_OK) {
    refuse(origin, std::string(XML_ErrorString(XML_GetErrorCode(parser.get()))) + " at line " +
                       std::to_string(XML_GetCurrentLineNumber(parser.get())));
  }
  if (s.out.data.empty()) refuse(origin, "it lists no <data> entry");
  return std::move(s.out);
}

}  // namespace stage::verifier::rpm
