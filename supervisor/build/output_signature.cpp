#include "supervisor/build/output_signature.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "stages/signer/client.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
namespace signer = stage::signer::client;
using ipc::proto::StageKind;

constexpr std::string_view kBegin = "-----BEGIN PGP SIGNATURE-----";
constexpr std::string_view kEnd = "-----END PGP SIGNATURE-----\n";
constexpr std::size_t kMaxSignatureBytes = 64 * 1024;
constexpr std::size_t kMaxSumsBytes = 16 * 1024 * 1024;

void run_signer_job(OrchestratorOptions options, ProgressReporter& progress, const std::string& name,
                    std::function<PreparedRequest()> prepare, std::function<void(const StageOutcome&)> on_success) {
  Orchestrator run(std::move(options), progress);
  run.add(StageJob{.name = name, .kind = StageKind::SIGNER, .after = {}, .prepare = std::move(prepare),
                   .on_success = std::move(on_success), .timeout = stage_info(StageKind::SIGNER).default_timeout});
  run.run();
}

base::UniqueFd open_dir(const fs::path& dir) {
  return base::UniqueFd(base::check_syscall(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                            "open directory", dir.string()));
}

// A file of the output directory, never through a link; nullopt errno kept when absent.
base::UniqueFd open_in(int dir, const std::string& name) {
  return base::UniqueFd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
}

// The stage's text is untrusted: one armored signature block, plain ASCII.
void require_armored_signature(const std::string& text) {
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) {
    return c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7f);
  });
  const bool framed = text.size() <= kMaxSignatureBytes && text.rfind(kBegin, 0) == 0 && text.size() > kEnd.size() &&
                      text.compare(text.size() - kEnd.size(), kEnd.size(), kEnd) == 0;
  if (!ascii || !framed) {
    base::fail(base::ErrorKind::kSandboxViolation,
               "Refused the signer's result: it is not one armored OpenPGP signature (" +
                   std::to_string(text.size()) + " bytes)");
  }
}

// DIR/SHA256SUMS.asc as a new file: a temporary name, then rename.
void write_signature(const fs::path& dir, const std::string& text) {
  const base::UniqueFd out = open_dir(dir);
  const std::string temp = "." + std::string(kSignatureFile) + ".tmp-" + std::to_string(::getpid());
  const fs::path shown = dir / temp;
  if (::unlinkat(out.get(), temp.c_str(), 0) != 0 && errno != ENOENT) base::check_syscall(-1, "remove", shown.string());
  base::UniqueFd fd(base::check_syscall(
      ::openat(out.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644), "create",
      shown.string()));
  try {
    base::write_all(fd.get(), text, shown.string());
    base::check_syscall(::fsync(fd.get()), "fsync", shown.string());
    base::check_syscall(::renameat(out.get(), temp.c_str(), out.get(), kSignatureFile), "rename into place",
                        (dir / kSignatureFile).string());
  } catch (...) {
    ::unlinkat(out.get(), temp.c_str(), 0);
    throw;
  }
}

}  // namespace

std::string sign_checksums(const fs::path& dir, const fs::path& key_file, OrchestratorOptions options,
                           ProgressReporter& progress) {
  base::ErrorContext context{"signing", (dir / kChecksumFile).string()};
  signer::Signed result;
  run_signer_job(
      std::move(options), progress, "sign-outputs",
      [&] {
        PreparedRequest p;
        // The key's bytes go to the signer alone: the supervisor only opens it.
        const int key = p.add_secret_fd(key_file, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
        const int sums = p.add_fd(dir / kChecksumFile, O_RDONLY | O_NOFOLLOW | O_NOCTTY);
        signer::encode(signer::SignDetached{ipc::FdReference::of_slot(key), key_file.string(),
                                            ipc::FdReference::of_slot(sums), kChecksumFile},
                       p.init_request().initSigner());
        return p;
      },
      [&](const StageOutcome& outcome) { result = signer::decode_signed(outcome.result_reader().getSigner()); });
  require_armored_signature(result.signature);
  write_signature(dir, result.signature);
  return result.fingerprint;
}

namespace {

// SHA256SUMS's bytes, read once: the signer checks exactly what is parsed.
std::string read_sums(int dir, const fs::path& shown) {
  base::UniqueFd fd = open_in(dir, kChecksumFile);
  if (!fd && errno == ELOOP) base::fail(base::ErrorKind::kFailed, "'" + shown.string() + "' is a symbolic link");
  if (!fd) base::check_syscall(-1, "open", shown.string());
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", shown.string());
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxSumsBytes) base::fail(base::ErrorKind::kFailed, "'" + shown.string() + "' is too large");
  }
}

// The same bytes in a sealed memory file, passed to the signer.
base::UniqueFd sealed_copy(const std::string& text) {
  base::UniqueFd fd(base::check_syscall(::memfd_create("SHA256SUMS", MFD_CLOEXEC | MFD_ALLOW_SEALING),
                                        "create a memory file for", kChecksumFile));
  base::write_all(fd.get(), text, kChecksumFile);
  base::check_syscall(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
                      "seal the memory file of", kChecksumFile);
  base::check_syscall(::lseek(fd.get(), 0, SEEK_SET), "rewind the memory file of", kChecksumFile);
  return fd;
}

void add_open_fd(PreparedRequest& p, base::UniqueFd fd, const fs::path& shown) {
  p.fds.push_back(std::move(fd));
  p.fd_paths.push_back(shown);
  p.fd_flags.push_back(O_RDONLY);
  p.fd_secret.resize(p.fds.size(), false);
}

signer::Verified check_signature(int dir_fd, const fs::path& dir, const std::string& sums, const fs::path& key_file,
                                 OrchestratorOptions options, ProgressReporter& progress) {
  base::UniqueFd signature = open_in(dir_fd, kSignatureFile);
  if (!signature) {
    const std::string why = errno == ELOOP ? "it is a symbolic link" : std::string(std::strerror(errno));
    return {false, {}, std::string(kSignatureFile) + ": " + why + " (are the outputs signed?)"};
  }
  signer::Verified verified;
  run_signer_job(
      std::move(options), progress, "verify-outputs",
      [&] {
        PreparedRequest p;
        const int key = p.add_fd(key_file, O_RDONLY | O_NOCTTY);
        add_open_fd(p, sealed_copy(sums), dir / kChecksumFile);
        add_open_fd(p, std::move(signature), dir / kSignatureFile);
        signer::encode(signer::VerifyDetached{ipc::FdReference::of_slot(key), key_file.string(),
                                              ipc::FdReference::of_slot(1), kChecksumFile,
                                              ipc::FdReference::of_slot(2)},
                       p.init_request().initSigner());
        return p;
      },
      [&](const StageOutcome& outcome) { verified = signer::decode_verified(outcome.result_reader().getSigner()); });
  return verified;
}

struct ListedFile {
  std::string sha256;
  std::string name;
};

bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

bool is_sha256(std::string_view hex) {
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "<sha256>  <name>" (or " *<name>", binary mode) per line; a bad line is a problem.
std::vector<ListedFile> parse_sums(const std::string& text, std::vector<std::string>& problems) {
  std::vector<ListedFile> listed;
  std::set<std::string> seen;
  std::size_t start = 0, number = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    const bool shaped = line.size() > 66 && is_sha256(std::string_view(line).substr(0, 64)) && line[64] == ' ' &&
                        (line[65] == ' ' || line[65] == '*');
    const std::string name = shaped ? line.substr(66) : std::string();
    if (!shaped || !is_plain_name(name)) {
      problems.push_back(std::string(kChecksumFile) + " line " + std::to_string(number) +
                         ": not '<sha256>  <file name in the directory>'");
    } else if (!seen.insert(name).second) {
      problems.push_back(name + ": listed twice in " + kChecksumFile);
    } else {
      listed.push_back({line.substr(0, 64), name});
    }
  }
  if (listed.empty() && problems.empty()) problems.push_back(std::string(kChecksumFile) + " lists no file");
  return listed;
}

// One listed file: nullopt when its hash matches, else the problem.
std::optional<std::string> check_listed(int dir_fd, const fs::path& dir, const ListedFile& file) {
  const fs::path shown = dir / file.name;
  base::UniqueFd fd = open_in(dir_fd, file.name);
  if (!fd && errno == ENOENT) return file.name + ": missing";
  if (!fd && errno == ELOOP) return file.name + ": is a symbolic link (not followed)";
  if (!fd) return file.name + ": cannot open: " + std::strerror(errno);
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "inspect", shown.string());
  if (!S_ISREG(st.st_mode)) return file.name + ": not a regular file";
  const std::string actual = sha256_of_fd(fd.get(), shown.string());
  if (actual != file.sha256) return file.name + ": sha256 differs (listed " + file.sha256 + ", the file has " + actual + ")";
  return std::nullopt;
}

// Regular files beside the outputs that SHA256SUMS does not list (an
// earlier build's other artifacts stay, docs/outputs.md): reported, not failed.
std::vector<std::string> unlisted_files(const fs::path& dir, const std::vector<ListedFile>& listed) {
  std::set<std::string> names{kChecksumFile, kSignatureFile};
  for (const ListedFile& f : listed) names.insert(f.name);
  std::vector<std::string> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.front() != '.' && entry.is_regular_file() && !entry.is_symlink() && !names.count(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

VerifyReport verify_output_dir(const fs::path& dir, const fs::path& key_file, OrchestratorOptions options,
                               ProgressReporter& progress) {
  base::ErrorContext context{"verifying the outputs in", dir.string()};
  const base::UniqueFd dir_fd = open_dir(dir);
  const std::string sums = read_sums(dir_fd.get(), dir / kChecksumFile);
  VerifyReport report;
  const signer::Verified verified = check_signature(dir_fd.get(), dir, sums, key_file, std::move(options), progress);
  if (!verified.good) report.problems.push_back(verified.problem);
  report.signer = verified.fingerprint;
  const std::vector<ListedFile> listed = parse_sums(sums, report.problems);
  for (const ListedFile& file : listed) {
    if (auto problem = check_listed(dir_fd.get(), dir, file)) {
      report.problems.push_back(*problem);
    } else {
      report.checked.push_back(file.name);
    }
  }
  report.unlisted = unlisted_files(dir, listed);
  report.good = report.problems.empty();
  return report;
}

}  // namespace supervisor
