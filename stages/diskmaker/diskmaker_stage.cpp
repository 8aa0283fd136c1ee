#include "stages/diskmaker/diskmaker_stage.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/disk_phases.hpp"
#include "stages/diskmaker/filesystems.hpp"
#include "stages/diskmaker/partition_table.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/diskmaker/tree_split.hpp"
#include "stages/diskmaker/tree_times.hpp"
#include "stages/diskmaker/verity.hpp"
#include "stages/diskmaker/work_dir.hpp"

namespace stage::diskmaker {
namespace {

using ipc::proto::DiskmakerRequest;
using base::UniqueFd;

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

// Checks everything that can be checked before a byte is written.
void check_request(const DiskRequest& request, const std::vector<PlacedPartition>& placed) {
  (void)sfdisk_script(request.layout.table, placed, request.layout.disk_id);  // types, names and UUIDs
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
  if (request.verity) check_verity(*request.verity, request.layout);
  for (const auto& [program, package] : diskmaker_tools(fs_types, artifacts, request.verity.has_value())) {
    (void)find_tool(program);
  }
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
                 TableType table, const std::string& root_hash, ipc::proto::DiskmakerResult::Builder out) {
  out.setRootHash(root_hash);
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

const PlacedPartition& placed_by_id(const std::vector<PlacedPartition>& placed, const std::string& id) {
  const auto it = std::find_if(placed.begin(), placed.end(), [&](const PlacedPartition& p) { return p.spec->id == id; });
  base::check(it != placed.end(), "no partition '" + id + "'");
  return *it;
}

// A file in the work directory, removed when it goes.
struct ScratchFile {
  ScratchFile(int dir, std::string file_name, std::uint64_t size) : dir_fd(dir), name(std::move(file_name)) {
    ::unlinkat(dir_fd, name.c_str(), 0);
    fd = UniqueFd(base::check_syscall(
        ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600), "create", name));
    base::check_syscall(::ftruncate(fd.get(), static_cast<off_t>(size)), "size", name);
  }
  ~ScratchFile() { ::unlinkat(dir_fd, name.c_str(), 0); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  std::uint64_t size() const {
    struct stat st{};
    base::check_syscall(::fstat(fd.get(), &st), "stat", name);
    return static_cast<std::uint64_t>(st.st_size);
  }
  int dir_fd;
  std::string name;
  UniqueFd fd;
};

// "/" made in a scratch file, its hash tree by `veritysetup format` into
// another (veritysetup has no data offset), both copied into their
// partitions. Returns the root hash.
std::string make_verity_root(const PlacedPartition& data, const PlacedPartition& hash, const Disk& target,
                             int work_fd, const std::vector<int>& inherit) {
  const std::string where = "partition '" + data.spec->id + "'";
  ScratchFile data_file(work_fd, ".verity-data", data.size_bytes());
  ScratchFile hash_file(work_fd, ".verity-hash", 0);
  const std::string work = fd_path(work_fd) + "/";
  PlacedPartition at_start = data;
  at_start.start_sector = 0;
  const auto time = source_date_epoch();
  if (time) clamp_tree_mtimes(target.root_fd, fd_path(target.root_fd), *time);
  run_tool_checked({.argv = ext_mkfs_argv(at_start, work + data_file.name, fd_path(target.root_fd)),
                    .inherit_fds = inherit},
                   "make the " + data.spec->fs_type + " file system of " + where);
  if (time) {
    settle_ext_inode_times({.path = work + data_file.name, .fd = data_file.fd.get(), .offset = 0,
                            .scratch_fd = work_fd, .inherit_fds = inherit},
                           *time);
  }
  const std::string output = run_tool_checked(
      {.argv = veritysetup_format_argv(*data.spec, *hash.spec, work + data_file.name, work + hash_file.name),
       .inherit_fds = inherit},
      "make the dm-verity hash tree of " + where);
  const std::string root_hash = parse_root_hash(output);
  const std::uint64_t hash_size = hash_file.size();
  base::require(hash_size <= hash.size_bytes(),
                "Failed to make the dm-verity hash tree of " + where + ": it takes " + std::to_string(hash_size) +
                    " bytes, more than partition '" + hash.spec->id + "' holds (" +
                    std::to_string(hash.size_bytes()) + ")");
  copy_data_extents(data_file.fd.get(), target.disk_fd, data.offset_bytes(), data.size_bytes());
  copy_data_extents(hash_file.fd.get(), target.disk_fd, hash.offset_bytes(), hash_size);
  return root_hash;
}

std::string_view root_hash_placeholder() {
  const capnp::Text::Reader text = ipc::proto::ROOT_HASH_PLACEHOLDER.get();
  return {text.cStr(), text.size()};
}

// The root hash into the UKI(s) on the FAT partitions, before they are made.
void put_root_hash_on_esp(const std::vector<PlacedPartition>& placed, const TreeSplit& split, int work_fd,
                          const std::string& root_hash) {
  std::vector<std::string> changed;
  for (const PlacedPartition& p : placed) {
    const auto name = split.moved_name(p.spec->id);
    if (fs_kind(p.spec->fs_type, p.spec->id) != FsKind::kVfat || !name) continue;
    UniqueFd dir(base::check_syscall(::openat(work_fd, name->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                     "open", *name));
    for (std::string& file : replace_root_hash_placeholder(dir.get(), root_hash_placeholder(), root_hash)) {
      changed.push_back(p.spec->mount_point + "/" + file);
    }
  }
  base::require(!changed.empty(), "Failed to put the dm-verity root hash on the ESP: no file there holds the root "
                                  "hash placeholder (the installer writes it into the UKI's command line)");
}

// Splits the tree and makes every file system; the tree is whole again after.
// With dm-verity "/" and its hash tree come first: the root hash goes into
// the ESP's UKI before the ESP is made. Returns the root hash ("" without).
std::string format_partitions(const DiskRequest& disk, const std::vector<PlacedPartition>& placed,
                              const Disk& target, ipc::StageContext& context) {
  const std::string work_name = "." + disk.output_name + ".work";
  UniqueFd work = make_work_dir(target.out_fd, work_name);
  RemoveTree remove_work{fd_path(target.out_fd) + "/" + work_name};
  const std::vector<int> inherit = {target.root_fd, target.out_fd, work.get()};
  TreeSplit split(target.root_fd, work.get(), moved_out_order(disk.layout));
  std::string root_hash;
  if (disk.verity) {
    context.progress({.phase = "format", .done = 0, .total = placed.size(), .item = disk.verity->data_id});
    root_hash = make_verity_root(placed_by_id(placed, disk.verity->data_id),
                                 placed_by_id(placed, disk.verity->hash_id), target, work.get(), inherit);
    put_root_hash_on_esp(placed, split, work.get(), root_hash);
  }
  for (std::size_t i = 0; i < placed.size(); ++i) {
    context.check_cancelled();
    const PartitionSpec& p = *placed[i].spec;
    if (disk.verity && (p.id == disk.verity->data_id || p.id == disk.verity->hash_id)) continue;
    if (!phase_makes(disk.phase, p)) continue;
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
  if (disk.phase == DiskPhase::kPartitions) export_fat_trees(disk, placed, split, target.out_fd, work.get());
  split.restore();
  return root_hash;
}

}  // namespace

DiskRequest decode_request(DiskmakerRequest::Reader request) {
  DiskRequest out;
  out.layout.table = request.getTableType() == DiskmakerRequest::TableType::GPT ? TableType::kGpt : TableType::kMbr;
  out.layout.disk_size = request.getDiskSize();
  out.layout.disk_id = request.getDiskId();
  for (const auto p : request.getPartitions()) {
    PartitionSpec spec{.id = p.getId(), .index = p.getIndex(), .name = p.getName(), .type = p.getTypeGuid(),
                       .start = p.getStart(), .end = p.getEnd(), .fs_type = p.getFsType(),
                       .fs_label = p.getFsLabel(), .mount_point = p.getMountPoint(), .flags = {},
                       .fs_uuid = p.getFsUuid(), .part_uuid = p.getPartUuid(),
                       .ext_hash_seed = p.getExtHashSeed()};
    for (const auto flag : p.getFlags()) spec.flags.emplace_back(flag);
    out.layout.partitions.push_back(std::move(spec));
  }
  for (const auto a : request.getArtifacts()) out.artifacts.push_back({a.getType(), a.getCompression()});
  out.output_name = request.getOutputName();
  const auto verity = request.getVerity();
  if (verity.hasDataPartitionId() && verity.getDataPartitionId().size() > 0) {
    out.verity = VeritySpec{verity.getDataPartitionId(), verity.getHashPartitionId()};
  }
  switch (request.getPhase()) {
    case DiskmakerRequest::Phase::WHOLE: out.phase = DiskPhase::kWhole; break;
    case DiskmakerRequest::Phase::PARTITIONS: out.phase = DiskPhase::kPartitions; break;
    case DiskmakerRequest::Phase::FINISH: out.phase = DiskPhase::kFinish; break;
  }
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

namespace {

// Phases whole and partitions: the table and the file systems.
UniqueFd partition_disk(const DiskRequest& disk, const std::vector<PlacedPartition>& placed, int root_fd, int out_fd,
                        TempFiles& temps, ipc::StageContext& context, std::string& root_hash) {
  const std::string disk_name = disk_temp_name(disk.output_name);
  context.progress({.phase = "partition", .done = 0, .total = 1});
  UniqueFd disk_fd = create_disk(out_fd, disk_name, disk.layout.disk_size, temps);
  Disk target{root_fd, out_fd, disk_fd.get(), fd_path(out_fd) + "/" + disk_name};
  run_tool_checked({.argv = {"sfdisk", "-q", "--no-reread", "--no-tell-kernel", "--wipe", "always", target.path},
                    .input = sfdisk_script(disk.layout.table, placed, disk.layout.disk_id), .inherit_fds = {root_fd, out_fd}},
                   "write the partition table");
  root_hash = format_partitions(disk, placed, target, context);
  return disk_fd;
}

}  // namespace

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
  check_ids_given(disk);
  fill_missing_ids(disk.layout);
  const std::vector<PlacedPartition> placed = place_partitions(disk.layout);
  const std::vector<ArtifactPlan> plans = plan_artifacts(disk.output_name, disk.artifacts);
  check_request(disk, placed);

  UniqueFd root = context.open(in.getRootDir(), O_RDONLY | O_DIRECTORY, "rootDir");
  UniqueFd out = context.open(in.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  const std::string disk_name = disk_temp_name(disk.output_name);
  TempFiles temps(out.get());
  // The ESP copies live from phase partitions until phase finish is done.
  RemoveTree remove_esp{fd_path(out.get()) + "/" + esp_dir_name(disk.output_name)};
  std::string root_hash;
  UniqueFd disk_fd = disk.phase == DiskPhase::kFinish
                         ? finish_fat_partitions(disk, placed, root.get(), out.get(), temps)
                         : partition_disk(disk, placed, root.get(), out.get(), temps, context, root_hash);
  base::check_syscall(::fsync(disk_fd.get()), "flush the disk file", disk_name);
  disk_fd.reset();
  if (disk.phase == DiskPhase::kPartitions) {
    temps.release(disk_name);
    remove_esp.keep = true;
    fill_result({}, placed, disk.layout.table, root_hash, result.initDiskmaker());
    return;
  }

  context.progress({.phase = "artifacts", .done = 0, .total = plans.size()});
  const std::vector<ProducedArtifact> produced = produce_artifacts(
      plans,
      {.dir_fd = out.get(),
       .dir_path = fd_path(out.get()),
       .disk_name = disk_name,
       .inherit_fds = {out.get()},
       .identity = {.disk_id = disk.layout.disk_id, .time = source_date_epoch()}},
      temps);
  context.progress({.phase = "artifacts", .done = plans.size(), .total = plans.size()});
  fill_result(produced, placed, disk.layout.table, root_hash, result.initDiskmaker());
}

}  // namespace stage::diskmaker
