#include "stages/diskmaker/client.hpp"

namespace stage::diskmaker::client {
namespace {

void encode_partition(const Partition& p, ipc::proto::DiskmakerRequest::Partition::Builder out) {
  out.setId(p.id);
  out.setIndex(p.index);
  out.setName(p.name);
  out.setTypeGuid(p.type_guid);
  out.setStart(p.start);
  out.setEnd(p.end);
  out.setFsType(p.fs_type);
  out.setFsLabel(p.fs_label);
  out.setMountPoint(p.mount_point);
  out.setMountOptions(p.mount_options);
  auto flags = out.initFlags(static_cast<unsigned>(p.flags.size()));
  for (unsigned f = 0; f < flags.size(); ++f) flags.set(f, p.flags[f]);
  out.setFsUuid(p.fs_uuid);
  out.setPartUuid(p.part_uuid);
  out.setExtHashSeed(p.ext_hash_seed);
}

}  // namespace

void encode(const Request& request, ipc::proto::DiskmakerRequest::Builder out) {
  request.root_dir.encode(out.initRootDir());
  out.setTableType(request.table_type);
  out.setDiskSize(request.disk_size);
  auto partitions = out.initPartitions(static_cast<unsigned>(request.partitions.size()));
  for (unsigned i = 0; i < partitions.size(); ++i) encode_partition(request.partitions[i], partitions[i]);
  request.bootloader.encode(out.initBootloader());
  out.setKernelCmdline(request.kernel_cmdline);
  out.setUki(request.uki);
  auto artifacts = out.initArtifacts(static_cast<unsigned>(request.artifacts.size()));
  for (unsigned i = 0; i < artifacts.size(); ++i) {
    artifacts[i].setType(request.artifacts[i].type);
    artifacts[i].setCompression(request.artifacts[i].compression);
  }
  request.output_dir.encode(out.initOutputDir());
  out.setOutputName(request.output_name);
  out.setPhase(request.phase);
  out.setDiskId(request.disk_id);
  if (request.verity) {
    auto verity = out.initVerity();
    verity.setDataPartitionId(request.verity->data_partition_id);
    verity.setHashPartitionId(request.verity->hash_partition_id);
  }
}

Result decode(ipc::proto::DiskmakerResult::Reader result) {
  Result out;
  for (auto a : result.getArtifacts()) out.artifacts.push_back({a.getPath(), a.getType(), a.getSha256(), a.getSize()});
  for (auto p : result.getPartitions()) out.partitions.push_back({p.getId(), p.getPartUuid(), p.getFsUuid()});
  out.root_hash = result.getRootHash();
  return out;
}

}  // namespace stage::diskmaker::client
