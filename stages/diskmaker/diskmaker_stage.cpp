#include "stages/diskmaker/diskmaker_stage.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/filesystems.hpp"
#include "stages/diskmaker/partition_table.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/diskmaker/tree_split.hpp"

namespace stage::diskmaker {
namespace {

using ipc::proto::DiskmakerRequest;
using base::UniqueFd;

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string random_uuid() {
  std::random_device random;
  std::uniform_int_distribution<int> nibble(0, 15);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uuid;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) uuid += '-';
    int v = nibble(random);
    if (i == 12) v = 4;                 // version 4
    if (i == 16) v = 8 | (v & 3);       // RFC 4122 variant
    uuid += kHex[v];
  }
  return uuid;
}

// The work directory beside the output: left-overs of an interrupted run go.
UniqueFd make_work_dir(int out_fd, const std::string& name) {
  std::error_code ignored;
  std::filesystem::remove_all(fd_path(out_fd) + "/" + name, ignored);
  base::check_syscall(::mkdirat(out_fd, name.c_str(), 0700), "make the work directory", name);
  return UniqueFd(base::check_syscall(::openat(out_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                     "open the work directory", name));
}

struct RemoveTree {
  std::string path;
  ~RemoveTree() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// Checks everything that can be checked before a byte is written.
void check_request(const DiskRequest& request, const std::vector<PlacedPartition>& placed) {
  (void)sfdisk_script(request.layout.table, placed);  // types, names and UUIDs
  std::vector<std::string> fs_types;
  for (const auto& p : placed) {
    const FsKind kind = fs_kind(p.spec->fs_type, p.spec->id);
    if (kind == FsKind::kExt) (void)ext_mkfs_argv(p, "disk", std::nullopt);
    if (kind == FsKind::kVfat) (void)vfat_mkfs_argv(p, "disk");
    if (kind == FsKind::kSwap) (void)written_fs_uuid(*p.spec);
    if (kind == FsKind::kXfs) make_filesystem(p, {});  // throws: not supported
    fs_types.push_back(p.spec->fs_type);
  }
  std::vector<std::pair<std::string, std::string>> artifacts;
  for (const auto& a : request.artifacts) artifacts.emplace_back(a.type, a.compression);
  for (const auto& [program, package] : diskmaker_tools(fs_types, artifacts)) (void)find_tool(program);
}

UniqueFd create_disk(int out_fd, const std::string& name, std::uint64_t size, TempFiles& temps) {
  ::unlinkat(out_fd, name.c_str(), 0);
  UniqueFd disk(base::check_syscall(
      ::openat(out_fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644), "create the disk file", name));
  temps.add(name);
  base::check_syscall(::ftruncate(disk.get(), static_cast<off_t>(size)), "size the disk file", name);
  return disk;
}

void fill_result(const std::vector<ProducedArtifact>& produced, const std::vector<PlacedPartition>& placed,
                 TableType table, ipc::proto::DiskmakerResult::Builder out) {
  auto artifacts = out.initArtifacts(static_cast<unsigned>(produced.size()));
  for (unsigned i = 0; i < produced.size(); ++i) {
    artifacts[i].setPath(produced[i].path);
    artifacts[i].setType(produced[i].type);
    artifacts[i].setSha256(produced[i].sha256);
    artifacts[i].setSize(produced[i].size);
  }
  auto partitions = out.initPartitions(static_cast<unsigned>(placed.size()));
  for (unsigned i = 0; i < placed.size(); ++i) {
    const PartitionSpec& p = *placed[i].spec;
    partitions[i].setId(p.id);
    partitions[i].setPartUuid(table == TableType::kGpt ? p.part_uuid : "");
    partitions[i].setFsUuid(fs_kind(p.fs_type, p.id) == FsKind::kNone ? "" : written_fs_uuid(p));
  }
}

struct Disk {
  int root_fd;
  int out_fd;
  int disk_fd;
  std::string path;  // as the tools see it
};

// Splits the tree and makes every file system; the tree is whole again after.
void format_partitions(const DiskRequest& disk, const std::vector<PlacedPartition>& placed, const Disk& target,
                       ipc::StageContext& context) {
  const std::string work_name = "." + disk.output_name + ".work";
  UniqueFd work = make_work_dir(target.out_fd, work_name);
  RemoveTree remove_work{fd_path(target.out_fd) + "/" + work_name};
  const std::vector<int> inherit = {target.root_fd, target.out_fd, work.get()};
  TreeSplit split(target.root_fd, work.get(), moved_out_order(disk.layout));
  for (std::size_t i = 0; i < placed.size(); ++i) {
    context.check_cancelled();
    const PartitionSpec& p = *placed[i].spec;
    context.progress({.phase = "format", .done = i, .total = placed.size(), .item = p.id});
    FsTarget fs{.disk_path = target.path, .disk_fd = target.disk_fd, .source_dir = std::nullopt, .source_fd = -1,
                .scratch_dir = fd_path(work.get()), .scratch_fd = work.get(), .inherit_fds = inherit};
    UniqueFd moved_fd;
    if (p.mount_point == "/") {
      fs.source_dir = fd_path(target.root_fd);
      fs.source_fd = target.root_fd;
    } else if (auto name = split.moved_name(p.id)) {
      moved_fd = UniqueFd(base::check_syscall(
          ::openat(work.get(), name->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", *name));
      fs.source_dir = fd_path(work.get()) + "/" + *name;
      fs.source_fd = moved_fd.get();
    }
    make_filesystem(placed[i], fs);
  }
  split.restore();
}

}  // namespace

DiskRequest decode_request(DiskmakerRequest::Reader request) {
  DiskRequest out;
  out.layout.table = request.getTableType() == DiskmakerRequest::TableType::GPT ? TableType::kGpt : TableType::kMbr;
  out.layout.disk_size = request.getDiskSize();
  for (const auto p : request.getPartitions()) {
    PartitionSpec spec{.id = p.getId(), .index = p.getIndex(), .name = p.getName(), .type = p.getTypeGuid(),
                       .start = p.getStart(), .end = p.getEnd(), .fs_type = p.getFsType(),
                       .fs_label = p.getFsLabel(), .mount_point = p.getMountPoint(), .flags = {},
                       .fs_uuid = p.getFsUuid(), .part_uuid = p.getPartUuid()};
    for (const auto flag : p.getFlags()) spec.flags.emplace_back(flag);
    out.layout.partitions.push_back(std::move(spec));
  }
  for (const auto a : request.getArtifacts()) out.artifacts.push_back({a.getType(), a.getCompression()});
  out.output_name = request.getOutputName();
  return out;
}

void fill_missing_ids(DiskLayout& layout) {
  for (auto& p : layout.partitions) {
    const FsKind kind = fs_kind(p.fs_type, p.id);
    if (p.fs_uuid.empty() && kind != FsKind::kNone) {
      p.fs_uuid = random_uuid();
      if (kind == FsKind::kVfat) p.fs_uuid = written_fs_uuid(p);
    }
    if (p.part_uuid.empty() && layout.table == TableType::kGpt) p.part_uuid = random_uuid();
  }
}

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result) {
  // A tool that exits early must give us EPIPE, not kill the stage.
  ::signal(SIGPIPE, SIG_IGN);
  // The tools inherit it through default_tool_env(); the stage is single-threaded here.
  if (request.getSourceDateEpoch() >= 0) {
    ::setenv("SOURCE_DATE_EPOCH", std::to_string(request.getSourceDateEpoch()).c_str(), 1);
  }
  const auto in = request.getDiskmaker();
  DiskRequest disk = decode_request(in);
  fill_missing_ids(disk.layout);
  const std::vector<PlacedPartition> placed = place_partitions(disk.layout);
  const std::vector<ArtifactPlan> plans = plan_artifacts(disk.output_name, disk.artifacts);
  check_request(disk, placed);

  UniqueFd root = context.open(in.getRootDir(), O_RDONLY | O_DIRECTORY, "rootDir");
  UniqueFd out = context.open(in.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  const std::string disk_name = disk_temp_name(disk.output_name);
  TempFiles temps(out.get());

  context.progress({.phase = "partition", .done = 0, .total = 1});
  UniqueFd disk_fd = create_disk(out.get(), disk_name, disk.layout.disk_size, temps);
  Disk target{root.get(), out.get(), disk_fd.get(), fd_path(out.get()) + "/" + disk_name};
  run_tool_checked({.argv = {"sfdisk", "-q", "--no-reread", "--no-tell-kernel", "--wipe", "always", target.path},
                    .input = sfdisk_script(disk.layout.table, placed), .inherit_fds = {root.get(), out.get()}},
                   "write the partition table");
  format_partitions(disk, placed, target, context);
  base::check_syscall(::fsync(disk_fd.get()), "flush the disk file", disk_name);
  disk_fd.reset();

  context.progress({.phase = "artifacts", .done = 0, .total = plans.size()});
  const std::vector<ProducedArtifact> produced = produce_artifacts(
      plans, {.dir_fd = out.get(), .dir_path = fd_path(out.get()), .disk_name = disk_name, .inherit_fds = {out.get()}},
      temps);
  context.progress({.phase = "artifacts", .done = plans.size(), .total = plans.size()});
  fill_result(produced, placed, disk.layout.table, result.initDiskmaker());
}

}  // namespace stage::diskmaker
