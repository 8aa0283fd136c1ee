#include "live/install.hpp"

#include <fcntl.h>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include <ostream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "live/disk_check.hpp"
#include "live/gpt_grow.hpp"
#include "live/image_writer.hpp"
#include "live/install_lock.hpp"
#include "live/other_consoles.hpp"
#include "live/root_filesystem.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> medium_disk(const InstallOptions& options) {
  struct stat st {};
  if (::stat(options.medium.c_str(), &st) != 0) return std::nullopt;
  return disk_holding(st.st_dev, options.sys / "block");
}

Progress progress_printer(std::ostream& out) {
  return [&out, shown = -1](std::uint64_t written, std::uint64_t total) mutable {
    const int percent = static_cast<int>(written * 100 / total);
    if (percent / 10 == shown / 10 && percent != 100) return;
    shown = percent;
    out << "live-installer: written " << percent << "%" << std::endl;
  };
}

// Writes and verifies the image, then grows the GPT; the disk is opened
// exclusively, which the kernel refuses while anything has it mounted.
void write_disk(const Manifest& manifest, const DiskFacts& disk, std::ostream& out) {
  base::UniqueFd fd(::open(disk.path.c_str(), O_RDWR | O_EXCL | O_CLOEXEC));
  base::require(fd || errno != EBUSY, "disk " + disk.path + " is in use (it or one of its partitions is mounted or held open)");
  base::check_syscall(fd.get(), "open (exclusively)", disk.path);
  const unsigned sector = logical_sector_size(fd.get());
  base::require(sector == 512, "disk " + disk.path + " has " + std::to_string(sector) +
                                   "-byte sectors; the image's partition table is made for 512");
  out << "live-installer: writing " << manifest.image.path.filename().string() << " to " << disk.path << std::endl;
  write_image(manifest.image, fd.get(), disk.path, progress_printer(out));
  verify_written_image(manifest.image, fd.get(), disk.path);
  out << "live-installer: the image on " << disk.path << " matches rawSha256" << std::endl;
  grow_gpt_partition(fd.get(), disk.size, manifest.root_partition, disk.path);
}

void grow_root(const Manifest& manifest, const DiskFacts& disk, std::ostream& out) {
  const std::string root = partition_device(disk.path, manifest.root_partition);
  base::UniqueFd fd(::open(disk.path.c_str(), O_RDONLY | O_CLOEXEC));
  base::check_syscall(fd.get(), "open", disk.path);
  reread_partition_table(fd.get(), disk.path, root);
  fd.reset();
  out << "live-installer: growing the file system on " << root << std::endl;
  grow_ext_filesystem(root);
}

std::string unattended_disk(const InstallOptions& options, const Manifest& manifest) {
  const std::string disk = options.disk.empty() ? manifest.disk_path : options.disk;
  base::require(!disk.empty(), "an unattended installation needs a disk: the manifest has no diskPath and no --disk was given");
  return disk;
}

bool is_attended(const InstallOptions& options, const Manifest& manifest) {
  if (options.mode != Mode::kAuto) return options.mode == Mode::kAttended;
  return options.disk.empty() && manifest.disk_path.empty();
}

// Another console's instance finished first: its outcome, not ours.
struct EarlierOutcome {
  std::string line;
};

// Taken just before the disk is written, so an attended user on one console
// is not kept waiting by the questions pending on another.
void lock_before_writing(const InstallOptions& options, Console& console, base::UniqueFd& lock) {
  lock = take_install_lock(options.run_dir, console.out);
  if (auto earlier = recorded_outcome(options.run_dir)) throw EarlierOutcome{*earlier};
}

// For the instances waiting on the other consoles, and for whoever watches
// those consoles: this one reboots the machine next.
void record_completion(const InstallOptions& options) {
  record_outcome(options.run_dir, kCompleteLine);
  tell_other_consoles(kCompleteLine, options.sys, options.dev, terminal_name(STDOUT_FILENO));
}

}  // namespace

void install(const InstallOptions& options, Console& console, base::UniqueFd& lock) {
  const Manifest manifest = load_manifest(options.medium);
  const std::optional<std::string> medium = medium_disk(options);
  const bool attended = is_attended(options, manifest);
  AttendedChoices choices;
  if (attended) choices = ask_choices(console, installable_disks(options.sys / "block", medium.value_or("")), manifest);
  const std::string path = attended ? choices.disk : unattended_disk(options, manifest);
  const DiskFacts disk = check_target_disk(path, manifest.image.raw_size, medium, options.sys);
  lock_before_writing(options, console, lock);
  write_disk(manifest, disk, console.out);
  grow_root(manifest, disk, console.out);
  if (!attended) return;
  apply_settings(partition_device(disk.path, manifest.root_partition), manifest.root_fs_type,
                 options.run_dir / "target", choices.settings);
}

std::string run_installation(const InstallOptions& options, Console& console) {
  base::UniqueFd lock;
  std::string outcome;
  bool installed_here = false;
  try {
    install(options, console, lock);
    outcome = kCompleteLine;
    installed_here = static_cast<bool>(lock);
  } catch (const EarlierOutcome& earlier) {
    outcome = earlier.line;
  } catch (const base::Error& error) {
    outcome = kFailedPrefix + error.message();
    if (!error.context().empty()) console.out << error.what() << "\n";
  }
  console.out << outcome << std::endl;
  // Only success is recorded: after a failure (a cancelled confirmation, a
  // wrong disk typed) another console may still try.
  if (installed_here) record_completion(options);
  return outcome;
}

}  // namespace live
