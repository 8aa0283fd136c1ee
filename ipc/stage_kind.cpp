#include "ipc/stage_kind.hpp"

namespace ipc {

std::string_view to_string(proto::StageKind kind) noexcept {
  switch (kind) {
    case proto::StageKind::FETCHER: return "fetcher";
    case proto::StageKind::VERIFIER: return "verifier";
    case proto::StageKind::RESOLVER: return "resolver";
    case proto::StageKind::INSTALLER: return "installer";
    case proto::StageKind::DISKMAKER: return "diskmaker";
    case proto::StageKind::ISOMAKER: return "isomaker";
    case proto::StageKind::SIGNER: return "signer";
    case proto::StageKind::INSPECTOR: return "inspector";
  }
  return "unknown";
}

std::optional<proto::StageKind> stage_kind_from_name(std::string_view name) noexcept {
  for (auto kind : kAllStageKinds) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

std::optional<proto::StageKind> request_kind(proto::StageRequest::Reader request) {
  switch (request.which()) {
    case proto::StageRequest::FETCHER: return proto::StageKind::FETCHER;
    case proto::StageRequest::VERIFIER: return proto::StageKind::VERIFIER;
    case proto::StageRequest::RESOLVER: return proto::StageKind::RESOLVER;
    case proto::StageRequest::INSTALLER: return proto::StageKind::INSTALLER;
    case proto::StageRequest::DISKMAKER: return proto::StageKind::DISKMAKER;
    case proto::StageRequest::ISOMAKER: return proto::StageKind::ISOMAKER;
    case proto::StageRequest::SIGNER: return proto::StageKind::SIGNER;
    case proto::StageRequest::INSPECTOR: return proto::StageKind::INSPECTOR;
  }
  return std::nullopt;
}

std::optional<proto::StageKind> result_kind(proto::StageResult::Reader result) {
  switch (result.which()) {
    case proto::StageResult::FETCHER: return proto::StageKind::FETCHER;
    case proto::StageResult::VERIFIER: return proto::StageKind::VERIFIER;
    case proto::StageResult::RESOLVER: return proto::StageKind::RESOLVER;
    case proto::StageResult::INSTALLER: return proto::StageKind::INSTALLER;
    case proto::StageResult::DISKMAKER: return proto::StageKind::DISKMAKER;
    case proto::StageResult::ISOMAKER: return proto::StageKind::ISOMAKER;
    case proto::StageResult::SIGNER: return proto::StageKind::SIGNER;
    case proto::StageResult::INSPECTOR: return proto::StageKind::INSPECTOR;
  }
  return std::nullopt;
}

}  // namespace ipc
