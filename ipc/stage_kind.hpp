// Names of the stage kinds and the mapping between the request/result unions
// and proto::StageKind. The union members are declared in StageKind order.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "ipc/stage.capnp.h"

namespace ipc {

inline constexpr std::array<proto::StageKind, 8> kAllStageKinds = {
    proto::StageKind::FETCHER,   proto::StageKind::VERIFIER,  proto::StageKind::RESOLVER,
    proto::StageKind::INSTALLER, proto::StageKind::DISKMAKER, proto::StageKind::ISOMAKER,
    proto::StageKind::SIGNER,    proto::StageKind::INSPECTOR,
};

// "fetcher", "verifier", ...; "unknown" for a value outside the enum.
std::string_view to_string(proto::StageKind kind) noexcept;

// The kind named `name`, or nothing.
std::optional<proto::StageKind> stage_kind_from_name(std::string_view name) noexcept;

// The stage a request or result is for; nothing for a tag this build does not know.
std::optional<proto::StageKind> request_kind(proto::StageRequest::Reader request);
std::optional<proto::StageKind> result_kind(proto::StageResult::Reader result);

}  // namespace ipc
