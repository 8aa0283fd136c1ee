#include "stages/signer/efi_signing.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"
#include "stages/fetcher/sha256.hpp"
#include "stages/signer/program.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::signer {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPackage = "sbsigntool";

// A directory only this process can enter, removed with all it holds.
class WorkDir {
 public:
  explicit WorkDir(const fs::path& parent) {
    std::string pattern = ((parent.empty() ? fs::temp_directory_path() : parent) / "oic-sbsign-XXXXXX").string();
    base::check_syscall(::mkdtemp(pattern.data()) == nullptr ? -1 : 0, "make a private directory", pattern);
    path_ = pattern;
  }
  ~WorkDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;

  // A new file (mode 0600) holding `bytes`.
  fs::path write(std::string_view name, std::string_view bytes) const {
    const fs::path path = path_ / name;
    base::UniqueFd fd(base::check_syscall(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
                                          "create", path.string()));
    base::write_all(fd.get(), bytes, path.string());
    return path;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The key's copy for sbsign: overwritten with zeros and removed when it
// goes out of scope, which is right after sbsign has read it.
class KeyCopy {
 public:
  KeyCopy(const WorkDir& dir, const KeyFile& key) : path_(dir.write("db.key", key.bytes)), size_(key.bytes.size()) {}
  ~KeyCopy() {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      const std::string zeros(size_, '\0');
      [[maybe_unused]] const ssize_t ignored = ::write(fd, zeros.data(), zeros.size());
      ::close(fd);
    }
    ::unlink(path_.c_str());
  }
  KeyCopy(const KeyCopy&) = delete;
  KeyCopy& operator=(const KeyCopy&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::size_t size_;
};

bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// sbsigntool's words for a file it cannot parse as PE/COFF (image.c).
bool not_pe(std::string_view output) {
  for (std::string_view words : {"Can't open image", "DOS header", "PE header", "PE opt header", "a.out header"}) {
    if (has(output, words)) return true;
  }
  return false;
}

// sbsign's and sbverify's output on one line: "line; line; ...".
std::string one_line(const std::string& output) {
  std::string out;
  std::size_t start = 0;
  while (start < output.size()) {
    std::size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string_view line(output.data() + start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) out.append(out.empty() ? "" : "; ").append(line);
    start = end + 1;
  }
  return out.empty() ? "(no message)" : out;
}

// A passphrase would be asked for on a terminal the stage has not: refused
// before sbsign is run.
void require_plain_pem_key(const KeyFile& key, const std::string& failed) {
  if (has(key.bytes, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(key.bytes, "Proc-Type: 4,ENCRYPTED")) {
    throw base::Error(base::ErrorKind::kInvalidInput, failed + ": the key file '" + key.name +
                                                          "' is protected by a passphrase")
        .with_hint("the signer takes only keys without one: write a copy without it "
                   "(openssl pkey -in KEY -out PLAIN.key) and keep it where only you can read it");
  }
}

std::string sign_problem(const std::string& output, const KeyFile& key, const KeyFile& certificate,
                         std::string_view binary_name) {
  if (has(output, "Can't load key")) return "the key file '" + key.name + "' is not a PEM private key";
  if (has(output, "Can't load certificate")) {
    return "the certificate file '" + certificate.name + "' is not a PEM X.509 certificate";
  }
  if (has(output, "key values mismatch") || has(output, "does not match certificate")) {
    return "the key file '" + key.name + "' does not match the certificate '" + certificate.name + "'";
  }
  if (not_pe(output)) return "'" + std::string(binary_name) + "' is not a PE/EFI binary";
  return "sbsign failed";
}

void run_sbsign(const WorkDir& dir, const KeyFile& key, const fs::path& cert, const fs::path& input,
                const fs::path& output, const KeyFile& certificate, const std::string& failed,
                std::string_view binary_name) {
  const KeyCopy key_copy(dir, key);
  const ProgramOutcome run = run_program({find_program("sbsign", kPackage).string(), "--key", key_copy.path().string(),
                                          "--cert", cert.string(), "--output", output.string(), input.string()});
  if (run.ok()) return;
  const bool refused = run.exit_code == 1;
  base::fail(refused ? base::ErrorKind::kInvalidInput : base::ErrorKind::kFailed,
             failed + ": " + sign_problem(run.output, key, certificate, binary_name) + " (sbsign " +
                 run.status_text() + ": " + one_line(run.output) + ")");
}

ProgramOutcome run_sbverify(const fs::path& cert, const fs::path& binary) {
  return run_program({find_program("sbverify", kPackage).string(), "--cert", cert.string(), binary.string()});
}

}  // namespace

SignedEfi sign_efi(const KeyFile& key, const KeyFile& certificate, std::string_view binary,
                   std::string_view binary_name, const fs::path& work_parent) {
  const std::string failed = "Failed to sign the EFI binary '" + std::string(binary_name) + "' with the key file '" +
                             key.name + "'";
  require_plain_pem_key(key, failed);
  const WorkDir dir(work_parent);
  const fs::path cert = dir.write("db.crt", certificate.bytes);
  const fs::path input = dir.write("unsigned.efi", binary);
  const fs::path output = dir.path() / "signed.efi";
  run_sbsign(dir, key, cert, input, output, certificate, failed, binary_name);
  const ProgramOutcome check = run_sbverify(cert, output);
  if (!check.ok()) {
    base::fail(base::ErrorKind::kFailed, failed + ": sbverify --cert '" + certificate.name +
                                             "' refused what sbsign made (" + check.status_text() + ": " +
                                             one_line(check.output) + ")");
  }
  SignedEfi out;
  out.bytes = verifier::read_file_bytes(output);
  fetcher::Sha256 sha;
  sha.update(out.bytes.data(), out.bytes.size());
  out.sha256 = sha.finish_hex();
  return out;
}

EfiVerifyOutcome verify_efi(const KeyFile& certificate, std::string_view binary, std::string_view binary_name,
                            const fs::path& work_parent) {
  const WorkDir dir(work_parent);
  const fs::path cert = dir.write("db.crt", certificate.bytes);
  const ProgramOutcome check = run_sbverify(cert, dir.write("signed.efi", binary));
  if (check.ok()) return {true, {}};
  const std::string message = one_line(check.output);
  if (has(check.output, "Can't load certificate") || check.exit_code != 1) {
    base::fail(has(check.output, "Can't load certificate") ? base::ErrorKind::kInvalidInput : base::ErrorKind::kFailed,
               "Failed to check the EFI binary '" + std::string(binary_name) + "' against the certificate '" +
                   certificate.name + "': sbverify " + check.status_text() + ": " + message);
  }
  std::string problem = "sbverify --cert '" + certificate.name + "' refused '" + std::string(binary_name) + "'";
  if (not_pe(check.output)) problem += " (not a PE/EFI binary)";
  if (has(check.output, "No signature table")) problem += " (it is not signed)";
  return {false, problem + ": " + message};
}

}  // namespace stage::signer
