// The supervisor's side of stage-diskmaker's contract (diskmaker.capnp):
// plain structs, encoded into the request the supervisor sends and decoded
// from the result it gets back. The mirror of the stage's own request
// decoding (diskmaker_stage.hpp). Defaults are the schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/shared.hpp"
#include "stages/diskmaker/diskmaker.capnp.h"

namespace stage::diskmaker::client {

using TableType = ipc::proto::DiskmakerRequest::TableType;
using Phase = ipc::proto::DiskmakerRequest::Phase;

struct Partition {
  std::string id;
  std::uint32_t index = 0;  // 1-based; 0 = next free
  std::string name;
  std::string type_guid;    // or an MBR type byte in hex
  std::uint64_t start = 0;  // bytes
  std::uint64_t end = 0;    // bytes; 0 = end of disk
  std::string fs_type;
  std::string fs_label;
  std::string mount_point;
  std::string mount_options;
  std::vector<std::string> flags;
  std::string fs_uuid;
  std::string part_uuid;    // "" for MBR
  std::string ext_hash_seed;  // ext: the directory hash seed (a UUID); "" = random
};

struct Artifact {
  std::string type;         // "raw", "qcow2", ...
  std::string compression;  // "none", "gz", "xz", "zstd"
};

// A dm-verity root: which partitions hold "/" and its hash tree.
struct Verity {
  std::string data_partition_id;
  std::string hash_partition_id;
};

struct Request {
  ipc::FdReference root_dir;
  TableType table_type = TableType::GPT;
  std::uint64_t disk_size = 0;  // bytes
  std::vector<Partition> partitions;
  ipc::Bootloader bootloader;
  std::string kernel_cmdline;
  bool uki = false;
  std::vector<Artifact> artifacts;
  ipc::FdReference output_dir;
  std::string output_name;  // base name, no '/'
  std::optional<Verity> verity;  // unset: a writable root
  Phase phase = Phase::WHOLE;    // PARTITIONS then FINISH: the ESP signed between
  std::string disk_id;           // GPT disk GUID, or (MBR) a UUID for the disk identifier; "" = random
};

struct ArtifactFile {
  std::string path;  // as the stage names it inside its sandbox
  std::string type;
  std::string sha256;
  std::uint64_t size = 0;
};

struct PartitionIds {
  std::string id;
  std::string part_uuid;
  std::string fs_uuid;
};

struct Result {
  std::vector<ArtifactFile> artifacts;
  std::vector<PartitionIds> partitions;
  std::string root_hash;  // dm-verity root hash, "" without
};

void encode(const Request& request, ipc::proto::DiskmakerRequest::Builder out);
Result decode(ipc::proto::DiskmakerResult::Reader result);

}  // namespace stage::diskmaker::client
