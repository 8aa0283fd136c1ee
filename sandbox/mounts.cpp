#include "sandbox/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace sandbox {

namespace {

constexpr const char* kOldRoot = "/oldroot";
constexpr const char* kNewRoot = "/newroot";
constexpr const char* kHostDevNull = "/oldroot/dev/null";
constexpr const char* kDeviceNodes[] = {"null", "zero", "full", "random", "urandom"};

std::vector<std::string> parents_of(const std::string& path) {
  std::vector<std::string> parents;
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    parents.push_back(std::string(kNewRoot) + path.substr(0, pos));
  }
  return parents;
}

// The source cloned as a detached mount tree, private so that nothing
// mounted under it in the stage propagates back to the host.
void detach_source(PreparedMount& m, const MountOp& op, PreparedRoot& root) {
  base::UniqueFd tree{open_tree(AT_FDCWD, op.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)};
  if (!tree && errno == ENOENT && op.if_exists) {
    m.source_absent = true;
    return;
  }
  if (!tree) {
    const int e = errno;
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to find bind source '" + op.source + "' for the sandbox: " + std::strerror(e))
        .with_errno(e)
        .with_hint("the path to bind into the sandbox does not exist on the host");
  }
  struct stat st {};
  base::check_syscall(fstat(tree.get(), &st), "inspect bind source", op.source);
  mount_attr attr{};
  attr.propagation = MS_PRIVATE;
  base::check_syscall(mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)),
                     "make bind source private", op.source);
  m.source_is_dir = S_ISDIR(st.st_mode);
  m.tree_fd = tree.get();
  root.trees.push_back(std::move(tree));
}

PreparedMount prepare(const MountOp& op, BindSources sources, PreparedRoot& root) {
  base::require(!op.target.empty() && op.target.front() == '/' &&
                   op.target.find("/../") == std::string::npos && !op.target.ends_with("/.."),
               "Failed to prepare mount: target '" + op.target + "' must be absolute without '..'");
  PreparedMount m{op.kind, {}, std::string(kNewRoot) + op.target, {}, op.options, op.target,
                  op.if_exists, parents_of(op.target), {}, {}};
  if (op.kind == MountKind::kBindRo || op.kind == MountKind::kBindRw) {
    base::require(!op.source.empty() && op.source.front() == '/',
                 "Failed to prepare bind mount: source '" + op.source + "' must be absolute");
    m.source = std::string(kOldRoot) + op.source;
    if (sources == BindSources::kDetachedByParent) detach_source(m, op, root);
  }
  if (op.kind == MountKind::kProc) {
    for (const char* p : proc_read_only_paths()) m.proc_read_only.push_back(m.target + "/" + p);
    for (const char* p : proc_masked_paths()) m.proc_masked.push_back(m.target + "/" + p);
  }
  if (op.kind == MountKind::kSymlink) m.link = op.source;
  if (op.kind == MountKind::kDev) {
    for (const char* node : kDeviceNodes) {
      m.device_binds.emplace_back(std::string(kOldRoot) + "/dev/" + node, m.target + "/" + node);
    }
    // /dev/tty only where a terminal is wanted (`stage --shell`).
    if (op.options == kDevWithTty) m.device_binds.emplace_back(std::string(kOldRoot) + "/dev/tty", m.target + "/tty");
    m.device_links = {{"/proc/self/fd", m.target + "/fd"},
                      {"/proc/self/fd/0", m.target + "/stdin"},
                      {"/proc/self/fd/1", m.target + "/stdout"},
                      {"/proc/self/fd/2", m.target + "/stderr"}};
  }
  return m;
}

int make_dir(const char* path) noexcept {
  if (mkdir(path, 0755) < 0 && errno != EEXIST) return -errno;
  return 0;
}

int make_file(const char* path) noexcept {
  const int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}

enum class BindFlags { kDevice, kReadWrite, kReadOnly };

int restrict_bind(const char* target, BindFlags flags, ChildFailure& failure) noexcept {
  if (flags == BindFlags::kDevice) return 0;  // a device node: nothing to execute
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_NOSUID | (flags == BindFlags::kReadOnly ? MOUNT_ATTR_RDONLY : 0);
  if (mount_setattr(AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
    return record_failure(failure, errno, "make bind mount read-only/nosuid", target);
  }
  return 0;
}

int bind(const char* source, const char* target, BindFlags flags, ChildFailure& failure,
         bool if_exists = false) noexcept {
  struct stat st {};
  if (stat(source, &st) < 0) {
    if (if_exists && errno == ENOENT) return 0;
    return record_failure(failure, errno, "find bind source", source);
  }
  const int made = S_ISDIR(st.st_mode) ? make_dir(target) : make_file(target);
  if (made < 0) return record_failure(failure, -made, "create bind target", target);
  if (mount(source, target, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return record_failure(failure, errno, "bind-mount", source);
  }
  return restrict_bind(target, flags, failure);
}

// A source the parent cloned with open_tree(): attached, not looked up.
int attach(const PreparedMount& m, BindFlags flags, ChildFailure& failure) noexcept {
  if (m.source_absent) return 0;
  const char* target = m.target.c_str();
  const int made = m.source_is_dir ? make_dir(target) : make_file(target);
  if (made < 0) return record_failure(failure, -made, "create bind target", target);
  if (move_mount(m.tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return record_failure(failure, errno, "attach bind mount of", m.source.c_str());
  }
  return restrict_bind(target, flags, failure);
}

// runc's read-only and masked procfs paths; what this kernel lacks is skipped.
int confine_proc(const PreparedMount& m, ChildFailure& failure) noexcept {
  struct stat st {};
  for (const std::string& path : m.proc_read_only) {
    if (lstat(path.c_str(), &st) < 0) continue;
    if (mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      return record_failure(failure, errno, "bind proc path over itself", path.c_str());
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
      return record_failure(failure, errno, "make proc path read-only", path.c_str());
    }
  }
  for (const std::string& path : m.proc_masked) {
    if (lstat(path.c_str(), &st) < 0) continue;
    const int rc = S_ISDIR(st.st_mode)
                       ? mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               "size=0,mode=555")
                       : mount(kHostDevNull, path.c_str(), nullptr, MS_BIND, nullptr);
    if (rc < 0) return record_failure(failure, errno, "mask proc path", path.c_str());
  }
  return 0;
}

int mount_dev(const PreparedMount& m, ChildFailure& failure) noexcept {
  if (mount("tmpfs", m.target.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755") < 0) {
    return record_failure(failure, errno, "mount tmpfs for /dev on", m.shown.c_str());
  }
  for (const auto& [host, target] : m.device_binds) {
    if (int rc = bind(host.c_str(), target.c_str(), BindFlags::kDevice, failure); rc < 0) return rc;
  }
  for (const auto& [text, target] : m.device_links) {
    if (symlink(text.c_str(), target.c_str()) < 0) {
      return record_failure(failure, errno, "create symlink", target.c_str());
    }
  }
  return 0;
}

int run(const PreparedMount& m, ChildFailure& failure) noexcept {
  for (const std::string& dir : m.parents) {
    if (int rc = make_dir(dir.c_str()); rc < 0) {
      return record_failure(failure, -rc, "create directory", dir.c_str());
    }
  }
  const char* target = m.target.c_str();
  if (m.kind == MountKind::kSymlink) {
    if (symlink(m.link.c_str(), target) < 0) return record_failure(failure, errno, "create symlink", target);
    return 0;
  }
  if (m.kind == MountKind::kBindRo || m.kind == MountKind::kBindRw) {
    const BindFlags flags = m.kind == MountKind::kBindRo ? BindFlags::kReadOnly : BindFlags::kReadWrite;
    if (m.tree_fd >= 0 || m.source_absent) return attach(m, flags, failure);
    return bind(m.source.c_str(), target, flags, failure, m.if_exists);
  }
  if (int rc = make_dir(target); rc < 0) return record_failure(failure, -rc, "create directory", target);
  switch (m.kind) {
    case MountKind::kDir: return 0;
    case MountKind::kDev: return mount_dev(m, failure);
    case MountKind::kProc:
      if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
        return record_failure(failure, errno, "mount proc on", m.shown.c_str());
      }
      return confine_proc(m, failure);
    case MountKind::kTmpfs:
      if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
                m.options.empty() ? nullptr : m.options.c_str()) < 0) {
        return record_failure(failure, errno, "mount tmpfs on", m.shown.c_str());
      }
      return 0;
    case MountKind::kBindRo:
    case MountKind::kBindRw:
    case MountKind::kSymlink:
      break;
  }
  return 0;
}

int pivot_into(const char* dir, ChildFailure& failure) noexcept {
  // pivot_root(".", ".") stacks the old root under the new one; detaching
  // "." then removes it (no directory for the old root is needed).
  if (chdir(dir) < 0) return record_failure(failure, errno, "change directory to", dir);
  if (syscall(SYS_pivot_root, ".", ".") < 0) return record_failure(failure, errno, "pivot_root into", dir);
  if (umount2(".", MNT_DETACH) < 0) return record_failure(failure, errno, "detach old root under", dir);
  if (chdir("/") < 0) return record_failure(failure, errno, "change directory to", "/");
  return 0;
}

}  // namespace

const std::vector<const char*>& proc_read_only_paths() {
  static const std::vector<const char*> paths{"sys", "sysrq-trigger", "irq", "bus", "fs"};
  return paths;
}

const std::vector<const char*>& proc_masked_paths() {
  static const std::vector<const char*> paths{"kcore",         "keys",        "timer_list",
                                              "sched_debug",   "latency_stats", "timer_stats",
                                              "acpi",          "scsi",        "asound"};
  return paths;
}

PreparedRoot prepare_root(const std::vector<MountOp>& ops, BindSources sources) {
  PreparedRoot root;
  for (const MountOp& op : ops) root.mounts.push_back(prepare(op, sources, root));
  return root;
}

int build_root(const PreparedRoot& root, ChildFailure& failure) noexcept {
  // Nothing done here may propagate back to the host's mount namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
    return record_failure(failure, errno, "make mounts private under", "/");
  }
  // Like bubblewrap: a scratch tmpfs becomes "/" with the host tree at
  // /oldroot, so bind sources anywhere on the host (also under /tmp) resolve.
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
    return record_failure(failure, errno, "mount scratch tmpfs on", "/tmp");
  }
  if (chdir("/tmp") < 0) return record_failure(failure, errno, "change directory to", "/tmp");
  if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0) {
    return record_failure(failure, errno, "create directory", "newroot");
  }
  if (syscall(SYS_pivot_root, ".", "oldroot") < 0) {
    return record_failure(failure, errno, "pivot_root into", "scratch tmpfs");
  }
  if (chdir("/") < 0) return record_failure(failure, errno, "change directory to", "/");
  if (mount("tmpfs", kNewRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
    return record_failure(failure, errno, "mount root tmpfs on", kNewRoot);
  }
  for (const PreparedMount& m : root.mounts) {
    if (int rc = run(m, failure); rc < 0) return rc;
  }
  if (umount2(kOldRoot, MNT_DETACH) < 0) return record_failure(failure, errno, "detach host tree", kOldRoot);
  if (mount(kNewRoot, kNewRoot, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
            nullptr) < 0) {
    return record_failure(failure, errno, "make root read-only", "/");
  }
  return pivot_into(kNewRoot, failure);
}

}  // namespace sandbox
