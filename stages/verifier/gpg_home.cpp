#include "stages/verifier/gpg_home.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>

#include "base/error.hpp"
#include "stages/verifier/file_bytes.hpp"

extern char** environ;

namespace stage::verifier {
namespace {

void check_gpgme(gpgme_error_t err, std::string_view what) {
  if (gpgme_err_code(err) == GPG_ERR_NO_ERROR) return;
  base::fail(base::ErrorKind::kFailed,
            "Failed to " + std::string(what) + ": " + gpgme_strerror(err));
}

void init_gpgme() {
  static std::once_flag once;
  std::call_once(once, [] {
    base::check(gpgme_check_version(nullptr) != nullptr, "Failed to initialize gpgme");
    check_gpgme(gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP),
                "find the OpenPGP engine (gpg)");
  });
}

// Options that keep gpg from starting daemons or reaching the network.
constexpr std::string_view kNoAgent = "no-autostart\n";
constexpr std::string_view kGpgConf =
    "no-auto-key-retrieve\n"
    "no-auto-key-locate\n"
    "trust-model always\n";
// A home for secret keys: its agent asks no pinentry program (the signer
// answers passphrase requests itself, and refuses them).
constexpr std::string_view kAgentConf = "allow-loopback-pinentry\n";

void write_conf(const std::filesystem::path& file, std::string_view text) {
  std::ofstream conf(file);
  conf << text;
  base::check(conf.good(), "Failed to write '" + file.string() + "'");
}

}  // namespace

GpgmeData make_gpgme_data(std::string_view bytes) {
  gpgme_data_t data = nullptr;
  check_gpgme(gpgme_data_new_from_mem(&data, bytes.data(), bytes.size(), 0),
              "wrap data for gpgme");
  return GpgmeData(data);
}

GpgmeData make_empty_gpgme_data() {
  gpgme_data_t data = nullptr;
  check_gpgme(gpgme_data_new(&data), "create gpgme data");
  return GpgmeData(data);
}

std::string read_gpgme_data(gpgme_data_t data) {
  base::check(gpgme_data_seek(data, 0, SEEK_SET) == 0, "Failed to rewind gpgme data");
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = gpgme_data_read(data, buf, sizeof buf);
    base::check_syscall(n, "read gpgme data");
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string normalize_fingerprint(std::string_view fingerprint) {
  std::string out;
  for (const char c : fingerprint) {
    if (c == ' ') continue;
    base::require(std::isxdigit(static_cast<unsigned char>(c)) != 0,
                 "Invalid OpenPGP fingerprint '" + std::string(fingerprint) + "'");
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  base::require(out.size() == 40 || out.size() == 64,
               "Invalid OpenPGP fingerprint '" + std::string(fingerprint) +
                   "': expected 40 or 64 hex digits");
  return out;
}

GpgHome::GpgHome(const std::filesystem::path& parent, GpgHomeUse use) {
  init_gpgme();
  const std::filesystem::path base =
      parent.empty() ? std::filesystem::temp_directory_path() : parent;
  std::string tmpl = (base / "oic-gpg-XXXXXX").string();
  base::check_syscall(::mkdtemp(tmpl.data()) == nullptr ? -1 : 0, "create GnuPG home", tmpl);
  path_ = tmpl;  // mkdtemp creates it 0700
  const bool secret = use == GpgHomeUse::kSecretKeys;
  write_conf(path_ / "gpg.conf", std::string(secret ? "" : kNoAgent) + std::string(kGpgConf));
  if (secret) write_conf(path_ / "gpg-agent.conf", kAgentConf);
  gpgme_ctx_t ctx = nullptr;
  check_gpgme(gpgme_new(&ctx), "create a gpgme context");
  ctx_.reset(ctx);
  check_gpgme(gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP), "select OpenPGP");
  check_gpgme(gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, nullptr,
                                        path_.c_str()),
              "bind gpgme to '" + path_.string() + "'");
  gpgme_set_offline(ctx, 1);
  gpgme_set_armor(ctx, 0);
  check_gpgme(gpgme_set_keylist_mode(ctx, GPGME_KEYLIST_MODE_LOCAL), "set keylist mode");
}

GpgHome::~GpgHome() {
  ctx_.reset();
  stop_daemons();
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

// gpg.conf forbids autostart, but a caller may still have started an agent
// (e.g. by importing a secret key); "gpgconf --kill all" is the documented
// way to stop every daemon of one home.
void GpgHome::stop_daemons() noexcept {
  const char* gpgconf = gpgme_get_dirinfo("gpgconf-name");
  if (gpgconf == nullptr) return;
  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0) return;
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string home = path_.string();
  std::string arg_homedir = "--homedir", arg_kill = "--kill", arg_all = "all";
  std::string program = gpgconf;
  char* argv[] = {program.data(), arg_homedir.data(), home.data(), arg_kill.data(),
                  arg_all.data(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, gpgconf, &actions, nullptr, argv, environ) == 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  posix_spawn_file_actions_destroy(&actions);
}

std::vector<std::string> GpgHome::import_keys(const std::filesystem::path& keyring) {
  return import_keys_from_memory(read_file_bytes(keyring), keyring.string());
}

std::vector<std::string> GpgHome::import_keys_from_memory(std::string_view bytes,
                                                          std::string_view origin) {
  base::ErrorContext context{"importing OpenPGP keys from", origin};
  GpgmeData data = make_gpgme_data(bytes);
  check_gpgme(gpgme_op_import(ctx_.get(), data.get()),
              "import keys from '" + std::string(origin) + "'");
  gpgme_import_result_t result = gpgme_op_import_result(ctx_.get());
  base::check(result != nullptr, "gpgme returned no import result");
  std::set<std::string> fingerprints;
  for (gpgme_import_status_t s = result->imports; s != nullptr; s = s->next) {
    if (gpgme_err_code(s->result) == GPG_ERR_NO_ERROR && s->fpr != nullptr) {
      fingerprints.insert(normalize_fingerprint(s->fpr));
    }
  }
  base::require(!fingerprints.empty(),
               "Failed to import keys from '" + std::string(origin) +
                   "': no OpenPGP public key found");
  return {fingerprints.begin(), fingerprints.end()};
}

}  // namespace stage::verifier
