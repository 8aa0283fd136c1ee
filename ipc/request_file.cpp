#include "ipc/request_file.hpp"

#include <capnp/compat/json.capnp.h>
#include <capnp/compat/json.h>
#include <capnp/schema.h>
#include <capnp/serialize-text.h>

#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "ipc/stage_kind.hpp"

namespace ipc {
namespace {

// Request files are small; anything larger is a mistake, not a request.
constexpr std::uintmax_t kMaxRequestFileBytes = std::uintmax_t{16} << 20;

void configure(capnp::JsonCodec& json) {
  json.setPrettyPrint(true);
  json.setMaxNestingDepth(32);
}

// The JSON codec skips keys the schema does not have; a misspelt key in a
// request written by hand would then silently mean "default". Walks the raw
// JSON beside the schema and names the first key that is no field.
void reject_unknown_keys(capnp::JsonValue::Reader value, capnp::Type type, const std::string& path) {
  if (type.isStruct() && value.isObject()) {
    const capnp::StructSchema schema = type.asStruct();
    for (auto member : value.getObject()) {
      const std::string name = member.getName();
      const std::string where = path.empty() ? name : path + "." + name;
      KJ_IF_MAYBE (field, schema.findFieldByName(member.getName())) {
        reject_unknown_keys(member.getValue(), field->getType(), where);
      } else {
        base::fail(base::ErrorKind::kInvalidInput, "Failed to read JSON stage request: unknown key '" + where +
                                           "' (no such field in " +
                                           std::string(schema.getShortDisplayName().cStr()) + ")");
      }
    }
  } else if (type.isList() && value.isArray()) {
    const capnp::Type element = type.asList().getElementType();
    std::size_t index = 0;
    for (auto item : value.getArray()) {
      reject_unknown_keys(item, element, path + "[" + std::to_string(index++) + "]");
    }
  }
}

}  // namespace

RequestFormat detect_request_format(const std::filesystem::path& path, std::string_view content) {
  const std::string name = path.filename().string();
  if (name.ends_with(".json")) return RequestFormat::kJson;
  if (name.ends_with(".capnp.txt") || name.ends_with(".txt")) return RequestFormat::kText;
  const auto first = content.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && content[first] == '{' ? RequestFormat::kJson
                                                                     : RequestFormat::kText;
}

Frame parse_request(std::string_view content, RequestFormat format, proto::StageKind kind) {
  capnp::MallocMessageBuilder builder;
  auto request = builder.initRoot<proto::Message>().initRequest();
  const std::string text(content);  // NUL-terminated for the parsers
  try {
    if (format == RequestFormat::kJson) {
      capnp::JsonCodec json;
      configure(json);
      const kj::ArrayPtr<const char> input(text.data(), text.size());
      json.decode(input, capnp::toDynamic(request));
      capnp::MallocMessageBuilder raw;
      auto root = raw.initRoot<capnp::JsonValue>();
      json.decodeRaw(input, root);
      reject_unknown_keys(root.asReader(), capnp::Schema::from<proto::StageRequest>(), "");
    } else {
      capnp::TextCodec().decode(kj::StringPtr(text.c_str(), text.size()),
                                capnp::toDynamic(request));
    }
  } catch (const kj::Exception& e) {
    base::fail(base::ErrorKind::kInvalidInput, std::string("Failed to parse ") +
                                       (format == RequestFormat::kJson ? "JSON" : "text") +
                                       " stage request: " + e.getDescription().cStr());
  }
  auto words = capnp::messageToFlatArray(builder);
  auto frame = Frame::decode(kj::heapArray<capnp::word>(words.asPtr()));
  validate_message(frame.message(), Phase::kStageAwaitingRequest, kind, 0);
  return frame;
}

Frame read_request_file(const std::filesystem::path& path, proto::StageKind kind) {
  base::ErrorContext ctx{"reading stage request", path.string()};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                "Failed to open stage request '" + path.string() + "': " + std::strerror(errno))
        .with_errno(errno);
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  base::require(!ec && size <= kMaxRequestFileBytes,
          "Failed to read stage request '" + path.string() + "': not a regular file of at most 16 MiB");
  std::ostringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  return parse_request(text, detect_request_format(path, text), kind);
}

std::string result_to_json(proto::StageResult::Reader result) {
  capnp::JsonCodec json;
  configure(json);
  return json.encode(result).cStr();
}

std::string error_to_json(proto::Error::Reader error) {
  capnp::JsonCodec json;
  configure(json);
  return json.encode(error).cStr();
}

}  // namespace ipc
