#include "sandbox/userns.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

extern char** environ;

namespace sandbox {
namespace {

constexpr const char* kNewUidMap = "/usr/bin/newuidmap";
constexpr const char* kNewGidMap = "/usr/bin/newgidmap";

std::string user_name(uid_t uid) {
  passwd* entry = getpwuid(uid);
  return entry != nullptr ? std::string(entry->pw_name) : std::to_string(uid);
}

IdRange require_range(const std::string& path, const std::string& user, uint32_t id,
                      const char* kind) {
  std::optional<IdRange> range = find_subordinate_range(path, user, id);
  if (range && range->count > 0) return *range;
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "Failed to find a subordinate " + std::string(kind) + " range for user '" +
                       user + "' in '" + path + "'")
      .with_hint("add one as root: usermod --add-subuids 100000-165535 --add-subgids "
                 "100000-165535 " + user + "  (or the line '" + user +
                 ":100000:65536' in /etc/subuid and /etc/subgid); or request single-id "
                 "mapping, where every file in the image is owned by root");
}

void write_proc_file(pid_t pid, const char* name, const std::string& text) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  base::UniqueFd fd{base::check_syscall(open(path.c_str(), O_WRONLY | O_CLOEXEC), "open", path)};
  const ssize_t n = base::check_syscall(write(fd.get(), text.data(), text.size()), "write", path);
  base::check(static_cast<size_t>(n) == text.size(), "Failed to write '" + path + "': short write");
}

pid_t start_map_helper(const char* helper, pid_t pid, const std::vector<IdMapLine>& lines) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  for (const IdMapLine& l : lines) {
    args.push_back(std::to_string(l.inside));
    args.push_back(std::to_string(l.outside));
    args.push_back(std::to_string(l.count));
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = 0;
  const int rc = posix_spawn(&child, helper, nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    throw base::Error(base::ErrorKind::kFailed,
                     std::string("Failed to run '") + helper + "': " + std::strerror(rc))
        .with_errno(rc)
        .with_hint("install the uidmap package (newuidmap, newgidmap)");
  }
  return child;
}

// Returns an error message, or "" when the helper exited with status 0.
std::string finish_map_helper(const char* helper, pid_t child, pid_t pid) {
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return std::string("Failed to wait for '") + helper + "': " + std::strerror(errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return std::string("Failed to write the id map of pid ") + std::to_string(pid) + " with '" + helper +
         "': it exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

// newuidmap and newgidmap run side by side: each is a setuid exec, the
// largest part of an unprivileged spawn.
void run_map_helpers(pid_t pid, const IdMapPlan& plan) {
  const pid_t uid_helper = start_map_helper(kNewUidMap, pid, plan.uid);
  pid_t gid_helper = -1;
  std::string gid_error;
  try {
    gid_helper = start_map_helper(kNewGidMap, pid, plan.gid);
  } catch (const base::Error&) {
    finish_map_helper(kNewUidMap, uid_helper, pid);
    throw;
  }
  const std::string uid_error = finish_map_helper(kNewUidMap, uid_helper, pid);
  gid_error = finish_map_helper(kNewGidMap, gid_helper, pid);
  const std::string& error = uid_error.empty() ? gid_error : uid_error;
  if (!error.empty()) {
    throw base::Error(base::ErrorKind::kFailed, error)
        .with_hint("newuidmap/newgidmap must be setuid root and the range must match "
                   "/etc/subuid and /etc/subgid");
  }
}

}  // namespace

std::vector<SubordinateEntry> read_subordinate_entries(const std::string& path) {
  std::vector<SubordinateEntry> entries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, first, count;
    if (!std::getline(fields, name, ':') || !std::getline(fields, first, ':') ||
        !std::getline(fields, count)) {
      continue;
    }
    try {
      entries.push_back({name, {static_cast<uint32_t>(std::stoul(first)),
                                static_cast<uint32_t>(std::stoul(count))}});
    } catch (const std::exception&) {
      continue;  // a malformed line is skipped, as shadow-utils does
    }
  }
  return entries;
}

std::optional<IdRange> find_subordinate_range(const std::string& path, const std::string& user,
                                              uint32_t id) {
  const std::string numeric = std::to_string(id);
  for (const SubordinateEntry& entry : read_subordinate_entries(path)) {
    if (entry.owner == user || entry.owner == numeric) return entry.range;
  }
  return std::nullopt;
}

IdRange root_stage_range(const std::string& path, const char* kind) {
  const std::vector<SubordinateEntry> entries = read_subordinate_entries(path);
  for (const SubordinateEntry& entry : entries) {
    if ((entry.owner == "root" || entry.owner == "0") && entry.range.count > 0) {
      base::require(entry.range.first != 0,
                   "Refusing the subordinate " + std::string(kind) + " range of root in '" + path +
                       "': it starts at 0, and a stage's root must not be the host's root");
      return {entry.range.first, std::min(entry.range.count, kRootMapSize)};
    }
  }
  const IdRange fallback = kRootFallbackRange;
  for (const SubordinateEntry& entry : entries) {
    const uint64_t end = uint64_t{entry.range.first} + entry.range.count;
    if (entry.range.first < fallback.first + fallback.count && end > fallback.first) {
      throw base::Error(base::ErrorKind::kInvalidInput,
                       "Failed to choose host " + std::string(kind) + "s for stages run as root: the range " +
                           std::to_string(fallback.first) + "-" +
                           std::to_string(fallback.first + fallback.count - 1) + " overlaps the entry of '" +
                           entry.owner + "' in '" + path + "'")
          .with_hint("give root its own range: the line 'root:FIRST:65536' in /etc/subuid and /etc/subgid");
    }
  }
  return fallback;
}

IdMapPlan plan_id_maps(UserMapping mode, const std::string& subuid_path,
                       const std::string& subgid_path) {
  return plan_id_maps_for({geteuid(), getegid(), user_name(geteuid())}, mode, subuid_path, subgid_path);
}

IdMapPlan plan_id_maps_for(const Caller& caller, UserMapping mode, const std::string& subuid_path,
                           const std::string& subgid_path) {
  const uid_t uid = caller.uid;
  const gid_t gid = caller.gid;
  IdMapPlan plan;
  if (uid == 0) {
    // Never 0 -> 0: the stage's root is an unprivileged id range of the host.
    const IdRange uids = root_stage_range(subuid_path, "uid");
    const IdRange gids = root_stage_range(subgid_path, "gid");
    plan.uid = {{0, uids.first, uids.count}};
    plan.gid = {{0, gids.first, gids.count}};
    plan.become_mapped_root = true;
    return plan;
  }
  if (mode == UserMapping::kSingleId) {
    plan.uid = {{0, uid, 1}};
    plan.gid = {{0, gid, 1}};
    plan.deny_setgroups = true;
    return plan;
  }
  const std::string& user = caller.name;
  const IdRange uids = require_range(subuid_path, user, uid, "uid");
  const IdRange gids = require_range(subgid_path, user, uid, "gid");
  plan.uid = {{0, uid, 1}, {1, uids.first, uids.count}};
  plan.gid = {{0, gid, 1}, {1, gids.first, gids.count}};
  plan.use_helpers = true;
  return plan;
}

std::string id_map_text(const std::vector<IdMapLine>& lines) {
  std::string text;
  for (const IdMapLine& l : lines) {
    text += std::to_string(l.inside) + " " + std::to_string(l.outside) + " " +
            std::to_string(l.count) + "\n";
  }
  return text;
}

base::Error namespace_creation_error(int e) {
  base::Error error(base::ErrorKind::kFailed,
                   std::string("Failed to create the stage's namespaces: ") + std::strerror(e));
  error.with_errno(e);
  if (e == EPERM || e == ENOSPC || e == EUSERS) {
    error.with_hint("unprivileged user namespaces must be allowed: check "
                    "/proc/sys/user/max_user_namespaces and, on Ubuntu, "
                    "kernel.apparmor_restrict_unprivileged_userns");
  }
  return error;
}

void apply_id_maps(pid_t pid, const IdMapPlan& plan) {
  base::ErrorContext ctx{"mapping user ids of pid", std::to_string(pid)};
  if (plan.use_helpers) {
    run_map_helpers(pid, plan);
    return;
  }
  write_proc_file(pid, "uid_map", id_map_text(plan.uid));
  if (plan.deny_setgroups) write_proc_file(pid, "setgroups", "deny");
  write_proc_file(pid, "gid_map", id_map_text(plan.gid));
}

}  // namespace sandbox
