#include "supervisor/build/secure_boot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/dir_entries.hpp"
#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/openat2.hpp"
#include "base/unique_fd.hpp"
#include "stages/signer/client.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
namespace signer = stage::signer::client;
using base::UniqueFd;
using ipc::proto::StageKind;

constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxEntries = 100000;
constexpr off_t kMaxCertificateBytes = 64 * 1024;

fs::path beside_template(const std::string& value, const config::ImageTemplate& image) {
  const fs::path path(value);
  if (path.is_absolute()) return path.lexically_normal();
  const fs::path dir = image.source.empty() ? fs::current_path() : fs::absolute(image.source).parent_path();
  return (dir / path).lexically_normal();
}

// `relative` beneath `dir_fd`, no step through a link, never escaping it.
UniqueFd open_beneath(int dir_fd, const std::string& relative, int flags, const std::string& shown) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = base::openat2_retrying(dir_fd, relative.c_str(), how);
  if (fd < 0 && (errno == ELOOP || errno == EXDEV)) {
    base::fail(base::ErrorKind::kSandboxViolation,
               "Refused '" + shown + "': it is, or its path passes through, a symbolic link");
  }
  base::check_syscall(static_cast<int>(fd), "open", shown);
  return UniqueFd(static_cast<int>(fd));
}

UniqueFd open_dir(const fs::path& dir) {
  return UniqueFd(base::check_syscall(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", dir.string()));
}

}  // namespace

// The ESP copies' directory, reached from the workspace without following a
// link: a stage could have replaced out/ or the directory itself by one.
base::UniqueFd open_esp_dir(const EspSigning& signing) {
  const UniqueFd workspace = open_dir(signing.workspace);
  const std::string relative = signing.esp_dir.lexically_relative(signing.workspace).string();
  base::check(!relative.empty() && !relative.starts_with(".."),
              "the ESP copies '" + signing.esp_dir.string() + "' are not in the workspace");
  return open_beneath(workspace.get(), relative, O_RDONLY | O_DIRECTORY, signing.esp_dir.string());
}

namespace {

bool starts_with_mz(int fd) {
  char head[2] = {};
  ssize_t n;
  do n = ::pread(fd, head, sizeof head, 0);
  while (n < 0 && errno == EINTR);
  return n == 2 && head[0] == 'M' && head[1] == 'Z';
}

void walk(int dir_fd, const std::string& prefix, const std::string& shown, int depth, std::vector<std::string>& out,
          std::size_t& seen) {
  base::require(depth <= kMaxDepth, "Refused '" + shown + "': directories nested deeper than " +
                                        std::to_string(kMaxDepth));
  for (const std::string& name : base::sorted_entry_names(dir_fd, shown)) {
    base::require(++seen <= kMaxEntries, "Refused '" + shown + "': more than " + std::to_string(kMaxEntries) +
                                             " entries");
    const std::string path = shown + "/" + name;
    struct stat st {};
    base::check_syscall(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "inspect", path);
    if (S_ISDIR(st.st_mode)) {
      const UniqueFd sub = open_beneath(dir_fd, name, O_RDONLY | O_DIRECTORY, path);
      walk(sub.get(), prefix + name + "/", path, depth + 1, out, seen);
    } else if (S_ISREG(st.st_mode)) {
      const UniqueFd file = open_beneath(dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, path);
      base::check_syscall(::fstat(file.get(), &st), "inspect", path);
      if (S_ISREG(st.st_mode) && starts_with_mz(file.get())) out.push_back(prefix + name);
    } else {
      base::fail(base::ErrorKind::kSandboxViolation,
                 "Refused the ESP's files for Secure Boot signing: '" + path + "' is " +
                     (S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file or directory"));
    }
  }
}

void copy_fd(int in, int out, const std::string& shown) {
  base::check_syscall(static_cast<int>(::lseek(in, 0, SEEK_SET)), "rewind", shown);
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(in, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(static_cast<int>(n), "read", shown);
    if (n == 0) return;
    base::write_all(out, std::string_view(buffer, static_cast<std::size_t>(n)), shown);
  }
}

// The jobs' shared state: the supervisor's scratch directory of signed
// copies (removed with the last job holding it) and each signEfi result.
struct SigningState {
  fs::path scratch;
  std::vector<signer::SignedEfi> results;
  ~SigningState() {
    std::error_code ignored;
    if (!scratch.empty()) fs::remove_all(scratch, ignored);
  }
};

std::shared_ptr<SigningState> make_state(const fs::path& workspace, std::size_t count) {
  auto state = std::make_shared<SigningState>();
  std::string tmpl = (workspace / ".secure-boot-XXXXXX").string();
  base::check(::mkdtemp(tmpl.data()) != nullptr, "Failed to make a scratch directory in '" + workspace.string() +
                                                     "': " + std::strerror(errno));
  state->scratch = tmpl;
  state->results.resize(count);
  return state;
}

void add_open_fd(PreparedRequest& p, UniqueFd fd, const fs::path& shown) {
  p.fds.push_back(std::move(fd));
  p.fd_paths.push_back(shown);
  p.fd_flags.push_back(O_RDONLY);
  p.fd_secret.resize(p.fds.size(), false);
}

struct BinaryJob {
  EspSigning signing;
  EfiBinary binary;
  std::string shown;  // for messages: <esp dir>/<partition>/<path>
  fs::path output;    // the signed copy
  std::size_t index = 0;
};

PreparedRequest prepare_sign(const BinaryJob& job) {
  PreparedRequest p;
  const SecureBootKeys& keys = job.signing.keys;
  // The key's bytes reach the signer alone: the supervisor only opens it.
  const int key = p.add_secret_fd(keys.key, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
  const int cert = p.add_fd(keys.certificate, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
  const UniqueFd esp = open_esp_dir(job.signing);
  UniqueFd file = open_beneath(esp.get(), job.binary.partition + "/" + job.binary.path,
                               O_RDONLY | O_NONBLOCK | O_NOCTTY, job.shown);
  struct stat st {};
  base::check_syscall(::fstat(file.get(), &st), "inspect", job.shown);
  base::require(S_ISREG(st.st_mode), "Refused '" + job.shown + "': not a regular file");
  add_open_fd(p, std::move(file), job.shown);
  const int output = p.add_fd(job.output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY);
  signer::encode(signer::SignEfi{ipc::FdReference::of_slot(key), keys.key.string(), ipc::FdReference::of_slot(cert),
                                 keys.certificate.string(), ipc::FdReference::of_slot(2), job.shown,
                                 ipc::FdReference::of_slot(output)},
                 p.init_request().initSigner());
  return p;
}

PreparedRequest prepare_verify(const BinaryJob& job) {
  PreparedRequest p;
  const int cert = p.add_fd(job.signing.keys.certificate, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
  const int file = p.add_fd(job.output, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
  signer::encode(signer::VerifyEfi{ipc::FdReference::of_slot(cert), job.signing.keys.certificate.string(),
                                   ipc::FdReference::of_slot(file), "the signed " + job.shown},
                 p.init_request().initSigner());
  return p;
}

// The signed copy checked and put in place of the original.
void use_verified(const BinaryJob& job, const signer::VerifiedEfi& verified, const signer::SignedEfi& made) {
  if (!verified.good) {
    base::fail(base::ErrorKind::kFailed, "sbverify refused the signed " + job.shown + ": " + verified.problem);
  }
  const UniqueFd copy(base::check_syscall(::open(job.output.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open",
                                          job.output.string()));
  const std::string sha256 = sha256_of_fd(copy.get(), job.output.string());
  if (sha256 != made.sha256) {
    base::fail(base::ErrorKind::kSandboxViolation, "Refused the signed " + job.shown + ": its sha256 " + sha256 +
                                                       " is not the " + made.sha256 + " the signer reported");
  }
  const UniqueFd esp = open_esp_dir(job.signing);
  const UniqueFd partition =
      open_beneath(esp.get(), job.binary.partition, O_RDONLY | O_DIRECTORY, job.signing.esp_dir.string());
  put_signed_in_place(partition.get(), job.binary.path, copy.get(), job.shown);
}

}  // namespace

std::optional<SecureBootKeys> secure_boot_keys(const config::ImageTemplate& image) {
  if (!image.system_config || !image.system_config->immutability) return std::nullopt;
  const config::Immutability& im = *image.system_config->immutability;
  // Not `enabled`: that is the dm-verity root, which the merge turns off
  // (with a warning) when the disk has no hash partition; the keys still
  // ask for a signed ESP.
  if (!im.secure_boot_db_key || !im.secure_boot_db_crt || !im.secure_boot_db_cer) return std::nullopt;
  return SecureBootKeys{beside_template(*im.secure_boot_db_key, image), beside_template(*im.secure_boot_db_crt, image),
                        beside_template(*im.secure_boot_db_cer, image)};
}

bool boots_grub_through_shim(const config::ImageTemplate& image) {
  if (!image.system_config) return false;
  const std::string type = image.target ? image.target->image_type.value_or("raw") : "raw";
  const auto& loader = image.system_config->bootloader;
  const std::string provider = loader ? loader->provider.value_or("grub") : "grub";
  // An ISO's target is a raw disk too, written by the ISO's installer.
  return (type == "raw" || type == "iso") && (provider == "grub" || provider == "grub2") &&
         secure_boot_keys(image).has_value();
}

void require_shim_data(const config::ImageTemplate& image, const config::ProviderData& provider) {
  if (!boots_grub_through_shim(image) || (!provider.facts.grub.shim.empty() && !provider.facts.grub.sbat.empty())) {
    return;
  }
  base::fail(base::ErrorKind::kInvalidInput,
             "Failed to build: Secure Boot with GRUB (systemConfig.immutability.secureBootDB*) needs a shim and "
             "GRUB's SBAT, and the OS data of " + provider.id + " (" + (provider.os_dir / "config.yml").string() +
                 ") has no grub.secureBoot; use systemConfig.bootloader.provider systemd-boot with "
                 "systemConfig.kernel.uki: true, or remove the keys");
}

std::string read_db_certificate(const fs::path& der) {
  const int fd = ::open(der.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read systemConfig.immutability.secureBootDBCer '" +
                                                   der.string() + "': " + std::strerror(errno));
  }
  const UniqueFd in(fd);
  struct stat st {};
  base::check_syscall(::fstat(in.get(), &st), "inspect", der.string());
  base::require(S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= kMaxCertificateBytes,
                "systemConfig.immutability.secureBootDBCer '" + der.string() +
                    "' is not a regular file of 1 byte to 64 KiB (a DER certificate)");
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(in.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(static_cast<int>(n), "read", der.string());
    base::require(n > 0, "'" + der.string() + "' shrank while it was read");
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

std::vector<std::string> find_efi_binaries(int dir_fd, const std::string& shown) {
  std::vector<std::string> out;
  std::size_t seen = 0;
  walk(dir_fd, "", shown, 0, out, seen);
  return out;
}

void put_signed_in_place(int dir_fd, const std::string& relative, int signed_fd, const std::string& shown) {
  const fs::path path(relative);
  const std::string name = path.filename().string();
  const std::string parent = path.parent_path().string();
  const UniqueFd dir = parent.empty()
                           ? UniqueFd(base::check_syscall(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0), "duplicate", shown))
                           : open_beneath(dir_fd, parent, O_RDONLY | O_DIRECTORY, shown);
  struct stat st {};
  base::check_syscall(::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "inspect", shown);
  base::require(S_ISREG(st.st_mode), "Refused to replace '" + shown + "': it is no longer a regular file");
  const std::string temp = "." + name + ".signed";
  if (::unlinkat(dir.get(), temp.c_str(), 0) != 0 && errno != ENOENT) base::check_syscall(-1, "remove", temp);
  const UniqueFd out(base::check_syscall(
      ::openat(dir.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644),
      "create the signed copy of", shown));
  try {
    copy_fd(signed_fd, out.get(), shown);
    base::check_syscall(::fsync(out.get()), "flush the signed copy of", shown);
    base::check_syscall(::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()), "put the signed copy of",
                        shown);
  } catch (...) {
    ::unlinkat(dir.get(), temp.c_str(), 0);
    throw;
  }
}

std::vector<EfiBinary> list_esp_binaries(const EspSigning& signing, const std::vector<std::string>& ids) {
  const UniqueFd esp = open_esp_dir(signing);
  std::vector<EfiBinary> out;
  for (const std::string& id : ids) {
    const std::string shown = (signing.esp_dir / id).string();
    const UniqueFd dir = open_beneath(esp.get(), id, O_RDONLY | O_DIRECTORY, shown);
    for (std::string& path : find_efi_binaries(dir.get(), shown)) out.push_back({id, std::move(path)});
  }
  if (out.empty()) {
    throw base::Error(base::ErrorKind::kFailed,
                      "Failed to sign the ESP for Secure Boot: no EFI binary (a file starting with \"MZ\") is on it")
        .with_hint("the image needs kernel.uki: true and systemd-boot");
  }
  return out;
}

std::vector<StageJob> esp_signing_jobs(const EspSigning& signing, const std::vector<EfiBinary>& binaries,
                                       const std::string& after, std::vector<std::string>& last,
                                       EspSigningReport& report) {
  const std::shared_ptr<SigningState> state = make_state(signing.workspace, binaries.size());
  report.certificate = signing.keys.certificate.filename().string();
  std::vector<StageJob> jobs;
  for (std::size_t i = 0; i < binaries.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    const BinaryJob job{signing, binaries[i], (signing.esp_dir / binaries[i].partition / binaries[i].path).string(),
                        state->scratch / (n + ".efi"), i};
    jobs.push_back(StageJob{
        .name = "sign-esp-" + n,
        .kind = StageKind::SIGNER,
        .after = after.empty() ? std::vector<std::string>{} : std::vector<std::string>{after},
        .prepare = [job, state] { return prepare_sign(job); },
        .on_success = [job, state](const StageOutcome& outcome) {
          state->results[job.index] = signer::decode_signed_efi(outcome.result_reader().getSigner());
        },
        .timeout = stage_info(StageKind::SIGNER).default_timeout});
    jobs.push_back(StageJob{
        .name = "verify-esp-" + n,
        .kind = StageKind::SIGNER,
        .after = {"sign-esp-" + n},
        .prepare = [job, state] { return prepare_verify(job); },
        .on_success = [job, state, &report](const StageOutcome& outcome) {
          use_verified(job, signer::decode_verified_efi(outcome.result_reader().getSigner()),
                       state->results[job.index]);
          ++report.signed_count;
        },
        .timeout = stage_info(StageKind::SIGNER).default_timeout});
    last.push_back("verify-esp-" + n);
  }
  return jobs;
}

}  // namespace supervisor
