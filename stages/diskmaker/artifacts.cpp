#include "stages/diskmaker/artifacts.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/image_identity.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/fetcher/sha256.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

const std::set<std::string> kTypes = {"raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi"};
const std::set<std::string> kCompressions = {"none", "gz", "xz", "zstd"};

std::string normal_compression(const std::string& c) { return c.empty() ? "none" : c; }

std::string suffix(const std::string& compression) {
  return compression == "none" ? "" : "." + compression;
}

struct Hashed {
  std::string sha256;
  std::uint64_t size = 0;
};

Hashed hash_file(int dir_fd, const std::string& name) {
  UniqueFd fd(base::check_syscall(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC), "open", name));
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat", name);
  stage::fetcher::Sha256 hasher;
  hasher.update_from_fd(fd.get(), static_cast<std::uint64_t>(st.st_size), name);
  return {hasher.finish_hex(), static_cast<std::uint64_t>(st.st_size)};
}

// Writes `src` (a name in the output directory) compressed to `dst`.
void compress(const ArtifactTarget& target, const std::string& compression, const std::string& src,
              const std::string& dst) {
  UniqueFd out(base::check_syscall(
      ::openat(target.dir_fd, dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), "create", dst));
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  run_tool_checked({.argv = compress_argv(compression, target.dir_path + "/" + src, threads),
                    .stdout_fd = out.get(),
                    .inherit_fds = target.inherit_fds},
                   "compress '" + src + "' with " + compression);
  base::check_syscall(::fsync(out.get()), "flush", dst);
}

// Makes one artifact under its temporary name.
void make_one(const ArtifactPlan& plan, const ArtifactTarget& target, TempFiles& temps) {
  const std::string& type = plan.spec.type;
  const std::string compression = normal_compression(plan.spec.compression);
  std::string source = target.disk_name;
  std::string converted;
  if (type != "raw") {
    converted = compression == "none" ? plan.temp_name : "." + plan.final_name + ".unpacked.partial";
    temps.add(converted);
    run_tool_checked({.argv = convert_argv(type, target.dir_path + "/" + source, target.dir_path + "/" + converted),
                      .inherit_fds = target.inherit_fds},
                     "convert the disk to " + type);
    if (!target.identity.disk_id.empty()) {
      UniqueFd fd(base::check_syscall(::openat(target.dir_fd, converted.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC),
                                      "open", converted));
      settle_image_identity(fd.get(), type, plan.final_name, target.identity);
    }
    source = converted;
  }
  if (compression != "none") {
    temps.add(plan.temp_name);
    compress(target, compression, source, plan.temp_name);
    if (!converted.empty()) temps.remove(converted);
  }
}

}  // namespace

std::string disk_temp_name(const std::string& output_name) { return "." + output_name + ".raw.partial"; }

std::vector<ArtifactPlan> plan_artifacts(const std::string& output_name, const std::vector<ArtifactSpec>& specs) {
  base::require(!output_name.empty() && output_name.find('/') == std::string::npos && output_name[0] != '.',
               "Failed to accept outputName '" + output_name + "': it must be a plain file name without '/'"
               " that does not start with '.'");
  std::vector<ArtifactPlan> plans;
  std::set<std::string> names;
  for (const auto& spec : specs) {
    const std::string compression = normal_compression(spec.compression);
    base::require(kTypes.contains(spec.type), "Failed to accept artifact type '" + spec.type +
                                                 "' (known: raw, qcow2, vhd, vhdx, vmdk, vdi)");
    base::require(kCompressions.contains(compression), "Failed to accept artifact compression '" + compression +
                                                          "' for type '" + spec.type + "' (known: none, gz, xz, zstd)");
    ArtifactPlan plan{{spec.type, compression}, output_name + "." + spec.type + suffix(compression), {}};
    plan.temp_name = "." + plan.final_name + ".partial";
    base::require(names.insert(plan.final_name).second,
                 "Failed to accept the artifacts: '" + plan.final_name + "' is listed twice");
    plans.push_back(std::move(plan));
  }
  base::require(!plans.empty(), "Failed to accept the request: it lists no artifacts");
  return plans;
}

std::vector<std::string> convert_argv(const std::string& type, const std::string& src, const std::string& dst) {
  std::vector<std::string> argv = {"qemu-img", "convert", "-q", "-f", "raw"};
  if (type == "qcow2") {
    argv.insert(argv.end(), {"-O", "qcow2", "-c", "-S", "4k", "-o", "cluster_size=2M,lazy_refcounts=on"});
  } else if (type == "vhd") {
    argv.insert(argv.end(), {"-O", "vpc"});
  } else {
    argv.insert(argv.end(), {"-O", type});
  }
  argv.insert(argv.end(), {src, dst});
  return argv;
}

std::vector<std::string> compress_argv(const std::string& compression, const std::string& src, unsigned threads) {
  // Each compressor's output must not depend on the machine: pigz's is the
  // same for any -p (but not gzip's, so gz is always pigz) and -n leaves out
  // the file name and time; xz's multi-threaded output is the same for any
  // thread count but differs from its single-threaded one, which plain -T0
  // picks on one processor ("+1": one thread, multi-threaded format); zstd's
  // -T is always its multi-threaded format.
  const std::string n = std::to_string(std::max(1u, threads));
  if (compression == "gz") return {"pigz", "-n", "-c", "-p", n, src};
  if (compression == "xz") return {"xz", "-T" + (threads > 1 ? n : "+1"), "-c", src};
  if (compression == "zstd") return {"zstd", "-T" + n, "-q", "-c", src};
  throw base::Error(base::ErrorKind::kInvalidInput, "Failed to accept compression '" + compression + "'");
}

TempFiles::~TempFiles() {
  for (const auto& name : names_) ::unlinkat(dir_fd_, name.c_str(), 0);
}

void TempFiles::remove(const std::string& name) {
  ::unlinkat(dir_fd_, name.c_str(), 0);
  release(name);
}

void TempFiles::release(const std::string& name) {
  names_.erase(std::remove(names_.begin(), names_.end(), name), names_.end());
}

std::vector<ProducedArtifact> produce_artifacts(const std::vector<ArtifactPlan>& plans,
                                                const ArtifactTarget& target, TempFiles& temps) {
  const ArtifactPlan* plain_raw = nullptr;
  for (const auto& plan : plans) {
    if (plan.spec.type == "raw" && plan.spec.compression == "none") plain_raw = &plan;
    else make_one(plan, target, temps);
  }
  std::vector<ProducedArtifact> produced;
  std::vector<std::pair<std::string, std::string>> renames;  // temp -> final
  for (const auto& plan : plans) {
    const std::string& temp = &plan == plain_raw ? target.disk_name : plan.temp_name;
    const Hashed hashed = hash_file(target.dir_fd, temp);
    produced.push_back({plan.final_name, plan.spec.type, hashed.sha256, hashed.size});
    renames.emplace_back(temp, plan.final_name);
  }
  // Every file is complete: only now do they get names that look finished.
  std::vector<std::string> renamed;
  try {
    for (const auto& [temp, final_name] : renames) {
      base::check_syscall(::renameat(target.dir_fd, temp.c_str(), target.dir_fd, final_name.c_str()), "rename",
                         temp + "' to '" + final_name);
      temps.release(temp);
      renamed.push_back(final_name);
    }
  } catch (...) {
    for (const auto& name : renamed) ::unlinkat(target.dir_fd, name.c_str(), 0);
    throw;
  }
  if (!plain_raw) temps.remove(target.disk_name);
  return produced;
}

}  // namespace stage::diskmaker
