// Stage requests as files a person can read and rerun: --keep-requests saves
// each request as JSON with every FdRef turned back into the host path it was
// opened from; `stage NAME --request FILE` does the reverse, opening each
// path and passing the fd, so the stage never needs the path in its sandbox
// (except for regular files beyond what one frame carries: see below).
#pragma once

#include <capnp/message.h>

#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "ipc/framing.hpp"
#include "ipc/stage.capnp.h"
#include "base/unique_fd.hpp"

namespace supervisor {

// `written[slot]`: the stage writes that file (FdRef.writable is set).
// `dir_paths`: directories named by path, each saved as the path mapped to.
void save_request_file(const std::filesystem::path& file, ipc::proto::StageKind kind,
                       ipc::proto::StageRequest::Reader request,
                       const std::vector<std::filesystem::path>& fd_paths, const std::vector<bool>& written = {},
                       const std::map<std::string, std::filesystem::path>& dir_paths = {});

struct LoadedRequest {
  std::unique_ptr<capnp::MallocMessageBuilder> message;  // a Message holding the request
  std::vector<base::UniqueFd> fds;
  std::vector<std::filesystem::path> fd_paths;
  // Regular files left as (absolute) paths; the stage must see each at
  // that path (StageMounts::read_only).
  std::vector<std::filesystem::path> bound_files;
  // Directories, always left as (absolute) paths and bound at that path:
  // read-write where the FdRef says `writable`, else read-only.
  std::vector<std::filesystem::path> bound_dirs_ro;
  std::vector<std::filesystem::path> bound_dirs_rw;
};

// Reads FILE (JSON or Cap'n Proto text), checks it is a request for `kind`,
// and opens every FdRef path of a file into an fd slot. Directories never
// become fds: they stay paths, bound at that path inside the stage's root.
// When there are more file FdRefs than `max_fds`, every regular file stays a
// path (listed in bound_files) and only special files become fds; more of
// those than `max_fds` is kInvalidInput.
LoadedRequest load_request_file(const std::filesystem::path& file, ipc::proto::StageKind kind,
                                std::size_t max_fds = ipc::FrameLimits{}.max_fds);

}  // namespace supervisor
