// rpm's PackageInstaller: the host's rpm installs into the tree from
// outside it (the tree has no rpm of its own yet), in the stage's user
// namespace, so owners, modes and file capabilities are real. The
// repository keys go into the image's rpmdb first; then one transaction
// with every package rpm orders itself, and the deferred ones (whose
// scriptlets only make sense on the booted system) in a second one without
// scriptlets or triggers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/package_digest.hpp"
#include "stages/installer/package_installer.hpp"
#include "stages/installer/rpm/rpm_command.hpp"
#include "stages/installer/rpm/rpm_transaction.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;

constexpr std::size_t kErrorTail = 4000;

struct RpmFile {
  std::string name;
  int fd = -1;
};

// The request's packages opened and checked, split into the first
// transaction's and the deferred ones; the fds live as long as `owned`.
void open_packages(proto::InstallerRequest::Reader request, ipc::StageContext& context,
                   std::vector<base::UniqueFd>& owned, std::vector<RpmFile>& first, std::vector<RpmFile>& deferred) {
  for (proto::InstallerRequest::PackageFile::Reader p : request.getPackages()) {
    const std::string name = p.getName();
    base::require(!name.empty(), "Failed to decode installer request: a package has no name");
    base::require(p.isRpm(), "Failed to decode installer request: package '" + name + "' is not an RPM package");
    owned.push_back(context.open(p.getFile(), O_RDONLY, "package " + name));
    require_package_sha256(owned.back().get(), name, p.getSha256().cStr());
    (p.getRpm().getDeferred() ? deferred : first).push_back({name, owned.back().get()});
  }
  base::require(!first.empty(), "Failed to decode installer request: no RPM package to install outside the deferred set");
}

std::string tail(const std::string& text) {
  return text.size() <= kErrorTail ? text : "..." + text.substr(text.size() - kErrorTail);
}

std::string status_of(const RpmOutcome& outcome) {
  return outcome.signal != 0 ? "was killed by signal " + std::to_string(outcome.signal)
                             : "exited with status " + std::to_string(outcome.exit_code);
}

// Runs rpm; throws kFailed naming `what` and the package rpm names.
void run_checked(const std::vector<std::string>& argv, const std::vector<int>& fds, const std::string& what,
                 ipc::StageContext& context) {
  const RpmOutcome outcome = run_rpm_program(argv, fds, [&] { context.check_cancelled(); });
  if (outcome.ok()) return;
  const std::string named = package_named_by_rpm(outcome.err);
  throw base::Error(base::ErrorKind::kFailed, "Failed to " + what + (named.empty() ? "" : " (rpm names " + named + ")") +
                                                  ": " + fs::path(argv[0]).filename().string() + " " +
                                                  status_of(outcome) + "\n" + tail(outcome.err));
}

// Each armored key the request hands over, as one gpg-pubkey in the rpmdb.
void import_keys(proto::InstallerRequest::Reader request, const fs::path& root, const std::string& db,
                 ipc::StageContext& context) {
  const auto keys = request.getPackageFamily().getRpm().getKeys();
  for (unsigned i = 0; i < keys.size(); ++i) {
    const std::string what = "packageFamily.rpm.keys[" + std::to_string(i) + "]";
    const base::UniqueFd key = context.open(keys[i], O_RDONLY, what);
    std::vector<std::string> argv = rpm_argv(kRpmKeysProgram, root, db);
    argv.insert(argv.end(), {"--import", fd_path(key.get())});
    run_checked(argv, {key.get()}, "import repository key " + what + " into the rpmdb", context);
  }
}

void install_transaction(const fs::path& root, const std::string& db, const std::vector<RpmFile>& files,
                         bool deferred, ipc::StageContext& context) {
  std::vector<std::string> paths;
  std::vector<int> fds;
  for (const RpmFile& f : files) paths.push_back(fd_path(f.fd)), fds.push_back(f.fd);
  const std::string which = deferred ? "the deferred transaction (no scriptlets, no triggers)" : "the transaction";
  context.log(ipc::LogLevel::kInfo, "rpm " + which + ": " + std::to_string(files.size()) + " package(s)");
  run_checked(rpm_install_argv(root, db, paths, deferred), fds,
              "install " + std::to_string(files.size()) + " package(s) from " + files.front().name + " in " + which,
              context);
}

void install_packages(proto::InstallerRequest::Reader request, const fs::path& root, const std::string& db,
                      ipc::StageContext& context) {
  base::require(request.getPackageFamily().isRpm(), "Failed to decode installer request: the package family is not rpm");
  std::vector<base::UniqueFd> owned;
  std::vector<RpmFile> first, deferred;
  open_packages(request, context, owned, first, deferred);
  const auto total = static_cast<std::uint32_t>(first.size() + deferred.size());
  context.progress({.phase = "install", .done = 0, .total = 2, .files_total = total, .item = "rpmdb"});
  std::vector<std::string> initdb = rpm_argv(kRpmProgram, root, db);
  initdb.push_back("--initdb");
  run_checked(initdb, {}, "create the rpmdb " + db, context);
  import_keys(request, root, db, context);
  install_transaction(root, db, first, false, context);
  context.progress({.phase = "install", .done = 1, .total = 2, .files_done = static_cast<std::uint32_t>(first.size()),
                    .files_total = total, .item = deferred.empty() ? "" : deferred.front().name});
  if (!deferred.empty()) install_transaction(root, db, deferred, true, context);
  context.progress({.phase = "install", .done = 2, .total = 2, .files_done = total, .files_total = total});
}

// Removes `file` when it exists and, with `only_if_empty`, is empty.
void remove_db_file(const fs::path& file, bool only_if_empty) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    base::check(errno == ENOENT, "Failed to inspect '" + file.string() + "'");
    return;
  }
  if (only_if_empty && st.st_size != 0) return;
  base::check_syscall(::unlink(file.c_str()), "remove", file.string());
}

class RpmInstaller final : public PackageInstaller {
 public:
  explicit RpmInstaller(std::string db) : db_(std::move(db)) {}

  void bootstrap(proto::InstallerRequest::Reader request, const fs::path& root,
                 ipc::StageContext& context) const override {
    install_packages(request, root, db_, context);
  }

  std::vector<TreePackage> installed(const fs::path& root) const override {
    std::vector<std::string> argv = rpm_argv(kRpmProgram, root, db_);
    argv.insert(argv.end(), {"-qa", "--qf", kRpmQueryFormat});
    const RpmOutcome outcome = run_rpm_program(argv, {}, [] {});
    if (!outcome.ok()) {
      base::fail(base::ErrorKind::kFailed, "Failed to list the packages of the rpmdb " + db_ + ": rpm " +
                                              status_of(outcome) + "\n" + tail(outcome.err));
    }
    return parse_rpm_query(outcome.out);
  }

  // sqlite's shared-memory index and an empty write-ahead log are left by
  // every rpm call; the image keeps only the database (reproducible bytes,
  // read-only roots). A non-empty -wal holds data and stays.
  void finish(const fs::path& root) const override {
    const fs::path dir = root / fs::path(db_).relative_path();
    remove_db_file(dir / "rpmdb.sqlite-shm", false);
    remove_db_file(dir / "rpmdb.sqlite-wal", true);
  }

 private:
  std::string db_;
};

}  // namespace

std::unique_ptr<PackageInstaller> rpm_installer(std::string_view db_path) {
  return std::make_unique<RpmInstaller>(checked_db_path(db_path));
}

}  // namespace stage::installer
