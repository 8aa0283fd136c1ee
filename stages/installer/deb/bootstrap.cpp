#include "stages/installer/deb/bootstrap.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/chroot_exec.hpp"
#include "stages/installer/os_config.hpp"
#include "stages/resolver/deb/control.hpp"
#include "stages/resolver/deb/relations.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;

struct ReadDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
using ReadPtr = std::unique_ptr<archive, ReadDeleter>;
using WritePtr = std::unique_ptr<archive, WriteDeleter>;

std::string archive_message(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

// The outer ar archive of a .deb, read from the start of `fd`.
ReadPtr open_deb(int fd, std::string_view what) {
  base::check_syscall(::lseek(fd, 0, SEEK_SET), "rewind", what);
  ReadPtr outer(archive_read_new());
  base::check(outer != nullptr, "Failed to allocate a libarchive reader");
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_fd(outer.get(), fd, 1 << 16) != ARCHIVE_OK) {
    base::fail(base::ErrorKind::kInvalidInput,
              "Failed to open package '" + std::string(what) + "': " + archive_message(outer.get()));
  }
  return outer;
}

// Streams one ar member into a nested reader.
struct Nested {
  archive* outer;
  std::array<char, 1 << 16> buffer;
};

la_ssize_t read_nested(archive*, void* client, const void** out) {
  auto* nested = static_cast<Nested*>(client);
  *out = nested->buffer.data();
  return archive_read_data(nested->outer, nested->buffer.data(), nested->buffer.size());
}

// Positions `outer` at the member whose name starts with `prefix` and opens
// it as a tar stream (any compression libarchive knows).
ReadPtr open_member(archive* outer, Nested& nested, std::string_view prefix, std::string_view what) {
  archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(outer, &entry);
    if (rc == ARCHIVE_EOF) {
      base::fail(base::ErrorKind::kInvalidInput,
                "Failed to find member '" + std::string(prefix) + "*' in package '" + std::string(what) + "'");
    }
    if (rc != ARCHIVE_OK) {
      base::fail(base::ErrorKind::kInvalidInput,
                "Failed to read package '" + std::string(what) + "': " + archive_message(outer));
    }
    if (std::string_view(archive_entry_pathname(entry)).starts_with(prefix)) break;
  }
  nested.outer = outer;
  ReadPtr inner(archive_read_new());
  base::check(inner != nullptr, "Failed to allocate a libarchive reader");
  archive_read_support_filter_all(inner.get());
  archive_read_support_format_tar(inner.get());
  if (archive_read_open(inner.get(), &nested, nullptr, read_nested, nullptr) != ARCHIVE_OK) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to open '" + std::string(prefix) + "*' of package '" +
                                                 std::string(what) + "': " + archive_message(inner.get()));
  }
  return inner;
}

// "./usr/bin/x" -> "usr/bin/x"; "" for the top directory itself. Refuses
// names that could land outside the root.
std::string member_path(std::string_view raw, std::string_view what) {
  std::string_view name = raw;
  while (name.starts_with("./")) name.remove_prefix(2);
  if (name == ".") name = {};
  while (name.ends_with('/')) name.remove_suffix(1);
  bool bad = raw.starts_with('/');
  for (std::size_t start = 0; !bad && start <= name.size();) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    if (name.substr(start, end - start) == "..") bad = true;
    start = end + 1;
  }
  if (bad) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to extract package '" + std::string(what) + "': member '" +
                                                 std::string(raw) + "' is absolute or contains '..'");
  }
  return std::string(name);
}

void copy_data(archive* in, archive* out, const std::string& path) {
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  for (;;) {
    const int rc = archive_read_data_block(in, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) return;
    if (rc != ARCHIVE_OK) base::fail(base::ErrorKind::kInvalidInput, "Failed to read '" + path + "': " + archive_message(in));
    if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK) {
      base::fail(base::ErrorKind::kFailed, "Failed to write '" + path + "': " + archive_message(out));
    }
  }
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, std::string_view content, mode_t mode) {
  base::UniqueFd fd(base::check_syscall(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode),
                                          "create", path.string()));
  base::write_all(fd.get(), content, path.string());
  base::check_syscall(::fchmod(fd.get(), mode), "chmod", path.string());
}

// Copies the file open at `fd` (from offset 0) to a new file `dest`.
void copy_fd_to(int fd, const fs::path& dest) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "stat package for", dest.string());
  base::UniqueFd out(base::check_syscall(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                                           "create", dest.string()));
  off_t offset = 0;
  while (offset < st.st_size) {
    const ssize_t n = ::sendfile(out.get(), fd, &offset, static_cast<std::size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "copy package to", dest.string());
    if (n == 0) break;
  }
}

}  // namespace

DebControl read_deb_control(int fd, std::string_view what) {
  ReadPtr outer = open_deb(fd, what);
  auto nested = std::make_unique<Nested>();
  ReadPtr inner = open_member(outer.get(), *nested, "control.tar", what);
  std::string text;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(inner.get(), &entry) == ARCHIVE_OK) {
    if (member_path(archive_entry_pathname(entry), what) != "control") continue;
    std::array<char, 1 << 14> buf;
    for (la_ssize_t n; (n = archive_read_data(inner.get(), buf.data(), buf.size())) > 0;) {
      text.append(buf.data(), static_cast<std::size_t>(n));
    }
    break;
  }
  base::require(!text.empty(), "Failed to read the control file of package '" + std::string(what) + "'");
  DebControl control;
  resolver::for_each_paragraph(text, [&](const resolver::Paragraph& p) {
    control.package = p.value("Package").value_or("");
    control.version = p.value("Version").value_or("");
    control.architecture = p.value("Architecture").value_or("");
    for (const char* field : {"Pre-Depends", "Depends"}) {
      for (const resolver::Alternatives& group : resolver::parse_relations(p.value(field).value_or(""), field)) {
        std::vector<std::string> names;
        for (const resolver::Relation& r : group) names.push_back(r.name);
        control.depends.push_back(std::move(names));
      }
    }
    for (const resolver::Alternatives& group : resolver::parse_relations(p.value("Provides").value_or(""), "Provides")) {
      for (const resolver::Relation& r : group) control.provides.push_back(r.name);
    }
  });
  return control;
}

ExtractStats extract_deb_data(int fd, const fs::path& root, std::string_view what) {
  ReadPtr outer = open_deb(fd, what);
  auto nested = std::make_unique<Nested>();
  ReadPtr inner = open_member(outer.get(), *nested, "data.tar", what);
  WritePtr disk(archive_write_disk_new());
  base::check(disk != nullptr, "Failed to allocate a libarchive writer");
  // No user/group lookup: owners stay numeric, as in the archive.
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                 ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  struct stat root_stat {};
  base::check_syscall(::stat(root.c_str(), &root_stat), "stat", root.string());
  ExtractStats stats;
  archive_entry* entry = nullptr;
  for (;;) {
    const int rc = archive_read_next_header(inner.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      base::fail(base::ErrorKind::kInvalidInput,
                "Failed to read the data of package '" + std::string(what) + "': " + archive_message(inner.get()));
    }
    const std::string raw = archive_entry_pathname(entry);
    const std::string rel = member_path(raw, what);
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFCHR || type == AE_IFBLK) {
      ++stats.skipped_devices;
      continue;
    }
    if (rel.empty()) continue;  // the tree's top directory is the caller's
    const std::string path = (root / rel).string();
    // Directories mounted over (the /proc and /dev the launcher put in the
    // tree) keep the attributes of their mount.
    struct stat existing {};
    if (type == AE_IFDIR && ::lstat(path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode) &&
        existing.st_dev != root_stat.st_dev) {
      continue;
    }
    archive_entry_set_pathname(entry, path.c_str());
    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      const std::string target = (root / member_path(link, what)).string();
      archive_entry_set_hardlink(entry, target.c_str());
    }
    if (archive_write_header(disk.get(), entry) != ARCHIVE_OK) {
      base::fail(base::ErrorKind::kFailed, "Failed to extract '" + raw + "' of package '" + std::string(what) +
                                             "': " + archive_message(disk.get()));
    }
    if (archive_entry_size(entry) > 0 && archive_entry_hardlink(entry) == nullptr) copy_data(inner.get(), disk.get(), raw);
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK) {
      base::fail(base::ErrorKind::kFailed, "Failed to finish '" + raw + "' of package '" + std::string(what) +
                                             "': " + archive_message(disk.get()));
    }
    ++stats.entries;
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK) {
    base::fail(base::ErrorKind::kFailed, "Failed to finish extracting package '" + std::string(what) +
                                           "': " + archive_message(disk.get()));
  }
  return stats;
}

ExtractStats extract_into_tree(const fs::path& root, const std::vector<DebPackage>& debs) {
  int pipefd[2];
  base::check_syscall(::pipe2(pipefd, O_CLOEXEC), "create a pipe");
  base::UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
  const pid_t pid = base::check_syscall(::fork(), "fork the extraction process");
  if (pid == 0) {
    std::string report;
    int code = 0;
    try {
      base::check_syscall(::chroot(root.c_str()), "chroot into", root.string());
      base::check_syscall(::chdir("/"), "change directory to", "/");
      ExtractStats total;
      for (const DebPackage& deb : debs) {
        const ExtractStats s = extract_deb_data(deb.fd, "/", deb.name);
        total.entries += s.entries;
        total.skipped_devices += s.skipped_devices;
      }
      report = std::to_string(total.entries) + " " + std::to_string(total.skipped_devices);
    } catch (const std::exception& e) {
      report = e.what();
      code = 1;
    }
    (void)!::write(write_end.get(), report.data(), report.size());
    ::_exit(code);
  }
  write_end.reset();
  std::string report;
  char buf[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    report.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    base::fail(base::ErrorKind::kFailed,
              report.empty() ? "Failed to extract the essential packages: the extraction process died" : report);
  }
  ExtractStats stats;
  std::istringstream(report) >> stats.entries >> stats.skipped_devices;
  return stats;
}

std::vector<std::size_t> essential_closure(const std::vector<DebControl>& controls, const std::vector<bool>& essential) {
  std::map<std::string, std::vector<std::size_t>> providers;
  for (std::size_t i = 0; i < controls.size(); ++i) {
    providers[controls[i].package].push_back(i);
    for (const std::string& virt : controls[i].provides) providers[virt].push_back(i);
  }
  std::vector<bool> in(controls.size(), false);
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < controls.size(); ++i) {
    if (essential[i]) {
      in[i] = true;
      todo.push_back(i);
    }
  }
  while (!todo.empty()) {
    const std::size_t i = todo.back();
    todo.pop_back();
    for (const std::vector<std::string>& group : controls[i].depends) {
      // Every alternative that is part of the package set: the set already
      // holds only what the resolver chose.
      for (const std::string& name : group) {
        const auto found = providers.find(name);
        if (found == providers.end()) continue;
        for (std::size_t j : found->second) {
          if (!in[j]) {
            in[j] = true;
            todo.push_back(j);
          }
        }
      }
    }
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < controls.size(); ++i) {
    if (in[i]) out.push_back(i);
  }
  return out;
}

namespace {

// A Pre-Depends path from `from` back to `to`, or empty.
std::vector<std::size_t> pre_depends_path(std::size_t from, std::size_t to, const std::vector<PlanInput>& packages,
                                          const std::map<std::string, std::size_t>& position) {
  std::vector<std::size_t> path{from};
  std::set<std::size_t> seen{from};
  std::function<bool(std::size_t)> walk = [&](std::size_t at) {
    for (const std::string& name : packages[at].pre_depends) {
      const auto found = position.find(name);
      if (found == position.end()) continue;
      const std::size_t next = found->second;
      if (next == to) {
        path.push_back(to);
        return true;
      }
      if (!seen.insert(next).second) continue;
      path.push_back(next);
      if (walk(next)) return true;
      path.pop_back();
    }
    return false;
  };
  return walk(from) ? path : std::vector<std::size_t>{};
}

}  // namespace

std::vector<Batch> plan_batches(const std::vector<PlanInput>& packages) {
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < packages.size(); ++i) position.emplace(packages[i].name, i);
  constexpr std::size_t kUnplaced = static_cast<std::size_t>(-1);
  std::vector<std::size_t> batch_of(packages.size(), kUnplaced);
  std::vector<Batch> batches;
  Batch essential{.packages = {}, .essential = true};
  for (std::size_t i = 0; i < packages.size(); ++i) {
    if (packages[i].essential) essential.packages.push_back(i);
  }
  if (!essential.packages.empty()) {
    for (std::size_t i : essential.packages) batch_of[i] = 0;
    batches.push_back(std::move(essential));
  }
  Batch current;
  for (std::size_t i = 0; i < packages.size(); ++i) {
    if (packages[i].essential) continue;
    bool cut = false;
    for (const std::string& name : packages[i].pre_depends) {
      const auto found = position.find(name);
      if (found == position.end() || found->second == i) continue;
      const std::size_t j = found->second;
      if (batch_of[j] == kUnplaced) {
        const std::vector<std::size_t> cycle = pre_depends_path(j, i, packages, position);
        std::string text = packages[i].name;
        for (std::size_t k : cycle) text += " -> " + packages[k].name;
        base::require(!cycle.empty(), "Failed to plan the installation: '" + packages[i].name + "' pre-depends on '" +
                                         name + "', which comes later in the installation order");
        base::fail(base::ErrorKind::kInvalidInput, "Failed to plan the installation: Pre-Depends cycle " + text);
      }
      if (batch_of[j] == batches.size()) cut = true;  // in the run being built
    }
    if (cut) {
      batches.push_back(std::move(current));
      current = Batch{};
    }
    current.packages.push_back(i);
    batch_of[i] = batches.size();
  }
  if (!current.packages.empty()) batches.push_back(std::move(current));
  return batches;
}

namespace {

// Merged /usr as Debian 12 expects it (usr-is-merged refuses anything else).
void make_merged_usr(const fs::path& root, const std::string& arch) {
  std::vector<std::string> dirs = {"bin", "sbin", "lib"};
  if (arch == "amd64") dirs.push_back("lib64");
  for (const std::string& dir : dirs) {
    fs::create_directories(root / "usr" / dir);
    fs::create_symlink("usr/" + dir, root / dir);
  }
}

void prepare_dpkg_database(const fs::path& root, const std::string& arch) {
  for (const char* dir : {"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc/dpkg/dpkg.cfg.d",
                          "usr/sbin"}) {
    fs::create_directories(root / dir);
  }
  for (const char* file : {"var/lib/dpkg/status", "var/lib/dpkg/available"}) {
    if (!fs::exists(root / file)) write_file(root / file, "", 0644);
  }
  if (!arch.empty()) write_file(root / "var/lib/dpkg/arch", arch + "\n", 0644);
  // Services must not start while the image is built (invoke-rc.d asks this).
  write_file(root / "usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0755);
}

constexpr const char* kDebDir = "var/cache/oic-install";

std::vector<std::string> copy_debs_into_tree(const fs::path& root, const std::vector<DebPackage>& packages) {
  fs::create_directories(root / kDebDir);
  std::vector<std::string> inside;
  for (std::size_t i = 0; i < packages.size(); ++i) {
    std::string number = std::to_string(i);
    number.insert(0, number.size() < 3 ? 3 - number.size() : 0, '0');
    const std::string name = std::string(kDebDir) + "/" + number + "_" + packages[i].name + ".deb";
    copy_fd_to(packages[i].fd, root / name);
    inside.push_back("/" + name);
  }
  return inside;
}

void remove_files_in(const fs::path& dir, std::string_view suffix) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().string().ends_with(suffix)) fs::remove(entry.path());
  }
}

// The installer makes the initramfs once, after the template's configuration
// (initramfs.cpp). While packages install, the kernel's hook and
// initramfs-tools' trigger would each make one first, about a minute each
// with every module, only for it to be replaced: until every package is
// configured, update-initramfs is diverted to a program that does nothing.
constexpr const char* kUpdateInitramfs = "/usr/sbin/update-initramfs";
constexpr const char* kDeferredUpdateInitramfs = "/usr/sbin/update-initramfs.oic-deferred";

void divert_update_initramfs(const fs::path& root, const std::string& action, const std::string& what) {
  ChrootCommand command;
  command.argv = {"dpkg-divert", "--local", "--rename", "--divert", kDeferredUpdateInitramfs, action, kUpdateInitramfs};
  command.timeout = std::chrono::seconds(120);
  run_in_root_checked(root, command, "Failed to " + what + " update-initramfs (dpkg-divert " + action + ")");
}

void defer_initramfs(const fs::path& root) {
  divert_update_initramfs(root, "--add", "defer");
  // Resolved in the tree: a link there cannot lead the write out of it.
  write_file_in_root(root, kUpdateInitramfs,
                     "#!/bin/sh\n# Deferred while packages install: the installer makes the initramfs afterwards.\nexit 0\n",
                     0755);
}

void restore_initramfs(const fs::path& root) {
  remove_in_root(root, "usr/sbin", "update-initramfs");
  divert_update_initramfs(root, "--remove", "restore");
}

// As apt runs dpkg (DPkg::NoTriggers): no batch processes triggers; the
// triggers every batch activated run once, after the last one
// (run_pending_triggers). A package awaiting a trigger satisfies Depends.
void run_dpkg_batch(const fs::path& root, const Batch& batch, const std::vector<DebPackage>& packages,
                    const std::vector<std::string>& files, std::chrono::seconds timeout) {
  ChrootCommand command;
  command.argv = {"dpkg", "--force-confdef", "--force-confold", "--force-unsafe-io", "--no-triggers", "--install"};
  if (batch.essential) command.argv.push_back("--force-depends");
  std::string names;
  for (std::size_t i : batch.packages) {
    command.argv.push_back(files[i]);
    names += (names.empty() ? "" : " ") + packages[i].name;
  }
  command.timeout = timeout;
  const ChrootOutcome outcome = run_in_root(root, command);
  if (outcome.ok()) return;
  const std::string how = outcome.timed_out    ? "timed out"
                          : outcome.signal != 0 ? "was killed by signal " + std::to_string(outcome.signal)
                                                : "exited with status " + std::to_string(outcome.exit_code);
  const std::string& out = outcome.output;
  base::fail(base::ErrorKind::kFailed, "Failed to install packages " + names + ": dpkg " + how + "\n" +
                                         (out.size() > 4000 ? "..." + out.substr(out.size() - 4000) : out));
}

void run_pending_triggers(const fs::path& root, std::chrono::seconds timeout) {
  ChrootCommand command;
  command.argv = {"dpkg", "--force-unsafe-io", "--triggers-only", "--pending"};
  command.timeout = timeout;
  run_in_root_checked(root, command, "Failed to run the triggers the packages activated (dpkg --triggers-only)");
}

// Every package ends installed: none left awaiting a trigger or half-configured.
void require_all_installed(const fs::path& root) {
  for (const DpkgStatusEntry& p : read_dpkg_status(root)) {
    base::require(p.status == "install ok installed", "Failed to install package '" + p.name +
                                                          "': dpkg left it in state '" + p.status + "'");
  }
}

}  // namespace

void bootstrap(const fs::path& root, const std::vector<DebPackage>& packages, const BootstrapOptions& options,
               const BatchProgress& progress) {
  base::require(!packages.empty(), "Failed to bootstrap: the request lists no packages");
  std::vector<DebControl> controls;
  std::vector<bool> essential;
  for (const DebPackage& p : packages) {
    base::ErrorContext ctx{"reading the control file of", p.name};
    controls.push_back(read_deb_control(p.fd, p.name));
    essential.push_back(p.essential);
  }
  std::vector<PlanInput> plan(packages.size());
  for (std::size_t i = 0; i < packages.size(); ++i) plan[i] = {packages[i].name, false, packages[i].pre_depends};
  for (std::size_t i : essential_closure(controls, essential)) plan[i].essential = true;
  const std::vector<Batch> batches = plan_batches(plan);

  if (options.on_step) options.on_step("unpack essential");
  make_merged_usr(root, options.native_architecture);
  if (!batches.empty() && batches.front().essential) {
    std::vector<DebPackage> base;
    for (std::size_t i : batches.front().packages) base.push_back(packages[i]);
    extract_into_tree(root, base);
  }
  prepare_dpkg_database(root, options.native_architecture);
  const std::vector<std::string> files = copy_debs_into_tree(root, packages);
  defer_initramfs(root);
  for (std::size_t b = 0; b < batches.size(); ++b) {
    if (progress) progress(b, batches.size(), batches[b]);
    run_dpkg_batch(root, batches[b], packages, files, options.dpkg_timeout);
  }
  if (options.on_step) options.on_step("triggers");
  run_pending_triggers(root, options.dpkg_timeout);
  require_all_installed(root);
  restore_initramfs(root);
  fs::remove_all(root / kDebDir);
  remove_files_in(root / "var/cache/apt/archives", ".deb");
  remove_files_in(root / "var/lib/apt/lists", "");
}

void remove_policy_rc_d(const fs::path& root) {
  std::error_code ec;
  fs::remove(root / "usr/sbin/policy-rc.d", ec);
  if (ec) base::fail(base::ErrorKind::kFailed, "Failed to remove '/usr/sbin/policy-rc.d': " + ec.message());
}

std::vector<DpkgStatusEntry> read_dpkg_status(const fs::path& root) {
  const fs::path file = root / "var/lib/dpkg/status";
  base::require(fs::exists(file), "Failed to read the dpkg status '" + file.string() + "': missing");
  const std::string text = read_text_file(file);
  std::vector<DpkgStatusEntry> out;
  resolver::for_each_paragraph(text, [&](const resolver::Paragraph& p) {
    out.push_back({p.value("Package").value_or(""), p.value("Version").value_or(""),
                   p.value("Architecture").value_or(""), p.value("Maintainer").value_or(""),
                   p.value("Status").value_or("")});
  });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace stage::installer
