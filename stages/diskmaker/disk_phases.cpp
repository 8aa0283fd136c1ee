#include "stages/diskmaker/disk_phases.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "stages/diskmaker/esp_phase.hpp"
#include "stages/diskmaker/work_dir.hpp"

namespace stage::diskmaker {

using base::UniqueFd;

// The two runs must agree on every id: the supervisor gives them all.
void check_ids_given(const DiskRequest& disk) {
  if (disk.phase == DiskPhase::kWhole) return;
  for (const PartitionSpec& p : disk.layout.partitions) {
    const bool fs = fs_kind(p.fs_type, p.id) != FsKind::kNone;
    const bool part = disk.layout.table == TableType::kGpt;
    base::require((!fs || !p.fs_uuid.empty()) && (!part || !p.part_uuid.empty()),
                  "Failed to accept partition '" + p.id + "': a disk made in two phases needs its fsUuid and "
                  "partUuid in the request");
  }
}

// Phase finish: the partial disk the first run left, then its FAT partitions.
UniqueFd finish_fat_partitions(const DiskRequest& disk, const std::vector<PlacedPartition>& placed, int root_fd,
                               int out_fd, TempFiles& temps) {
  const std::string disk_name = disk_temp_name(disk.output_name);
  const int fd = ::openat(out_fd, disk_name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  base::require(fd >= 0, "Failed to finish the disk: the first run's '" + disk_name + "' cannot be opened (" +
                             std::strerror(errno) + ")");
  UniqueFd disk_fd(fd);
  temps.add(disk_name);
  const std::string esp_name = esp_dir_name(disk.output_name);
  UniqueFd esp(::openat(out_fd, esp_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  base::require(esp.get() >= 0, "Failed to finish the disk: the first run's '" + esp_name + "' cannot be opened (" +
                                    std::strerror(errno) + ")");
  const std::string work_name = "." + disk.output_name + ".work";
  UniqueFd work = make_work_dir(out_fd, work_name);
  RemoveTree remove_work{fd_path(out_fd) + "/" + work_name};
  make_fat_from_export(placed, esp.get(),
                       {.disk_path = fd_path(out_fd) + "/" + disk_name, .disk_fd = disk_fd.get(),
                        .source_dir = std::nullopt, .source_fd = -1, .scratch_dir = fd_path(work.get()),
                        .scratch_fd = work.get(), .inherit_fds = {root_fd, out_fd, work.get()}});
  return disk_fd;
}

// Phase partitions: each FAT partition's files (root hash in) copied to
// .<outputName>.esp/<id>/ for the supervisor to sign, the FAT left unmade.
void export_fat_trees(const DiskRequest& disk, const std::vector<PlacedPartition>& placed, const TreeSplit& split,
                      int out_fd, int work_fd) {
  const std::string name = esp_dir_name(disk.output_name);
  UniqueFd esp = make_work_dir(out_fd, name);
  for (const PlacedPartition& p : placed) {
    if (phase_makes(DiskPhase::kPartitions, *p.spec)) continue;
    const auto moved = split.moved_name(p.spec->id);
    UniqueFd source;
    if (moved) {
      source = UniqueFd(base::check_syscall(
          ::openat(work_fd, moved->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), "open", *moved));
    }
    export_fat_tree(source.get(), esp.get(), *p.spec);
  }
}

}  // namespace stage::diskmaker
