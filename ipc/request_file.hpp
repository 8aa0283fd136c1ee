// Stage requests as files, for running one stage by hand
// (`os-image-composer stage NAME --request FILE`, `stage-NAME --request FILE`).
// The file holds one StageRequest in JSON (Cap'n Proto JSON mapping: field
// names in camelCase, 64-bit integers as strings or numbers) or in Cap'n Proto
// text format. Examples: docs/stages/<name>.md.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ipc/framing.hpp"
#include "ipc/stage.capnp.h"

namespace ipc {

enum class RequestFormat { kJson, kText };

// By extension (.json, .capnp.txt / .txt), else by the first non-blank
// character ('{' = JSON).
RequestFormat detect_request_format(const std::filesystem::path& path, std::string_view content);

// Parses `content` into a Message holding a request for `kind`, checked like
// one received on the socket (schema walk, kind, no fds). Throws kInvalidInput.
Frame parse_request(std::string_view content, RequestFormat format, proto::StageKind kind);

// Reads and parses `path`.
Frame read_request_file(const std::filesystem::path& path, proto::StageKind kind);

// JSON of a result or an error, pretty-printed, for stdout.
std::string result_to_json(proto::StageResult::Reader result);
std::string error_to_json(proto::Error::Reader error);

}  // namespace ipc
