#include "ipc/request_file.hpp"

#include <capnp/compat/json.h>
#include <capnp/serialize-text.h>

#include <fstream>
#include <sstream>

#include "ipc/error.hpp"
#include "ipc/stage_kind.hpp"

namespace ipc {
namespace {

// Request files are small; anything larger is a mistake, not a request.
constexpr std::uintmax_t kMaxRequestFileBytes = std::uintmax_t{16} << 20;

void configure(capnp::JsonCodec& json) {
  json.setPrettyPrint(true);
  json.setMaxNestingDepth(32);
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
      json.decode(kj::ArrayPtr<const char>(text.data(), text.size()), capnp::toDynamic(request));
    } else {
      capnp::TextCodec().decode(kj::StringPtr(text.c_str(), text.size()),
                                capnp::toDynamic(request));
    }
  } catch (const kj::Exception& e) {
    fail(ErrorKind::kInvalidInput, std::string("Failed to parse ") +
                                       (format == RequestFormat::kJson ? "JSON" : "text") +
                                       " stage request: " + e.getDescription().cStr());
  }
  auto words = capnp::messageToFlatArray(builder);
  auto frame = Frame::decode(kj::heapArray<capnp::word>(words.asPtr()));
  validate_message(frame.message(), Phase::kStageAwaitingRequest, kind, 0);
  return frame;
}

Frame read_request_file(const std::filesystem::path& path, proto::StageKind kind) {
  ErrorContext ctx{"reading stage request", path.string()};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::kInvalidInput,
                "Failed to open stage request '" + path.string() + "': " + std::strerror(errno))
        .with_errno(errno);
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  require(!ec && size <= kMaxRequestFileBytes,
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
