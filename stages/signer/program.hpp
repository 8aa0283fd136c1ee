// Running one host program of the signer's (sbsign, sbverify) as a child
// with an argv vector (never a shell): stdin from /dev/null, stdout and
// stderr collected together, a fixed environment. The child is killed and
// reaped if the caller leaves early.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stage::signer {

struct ProgramOutcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string output;  // stdout and stderr, the last 64 KiB
  bool ok() const { return exit_code == 0; }
  // "exited with status N" / "was killed by signal N".
  std::string status_text() const;
};

// `program` searched in /usr/bin and /usr/sbin; a missing one is an error
// (kFailed) naming it and its Debian `package`.
std::filesystem::path find_program(std::string_view program, std::string_view package);

// Runs `argv` (argv[0] an absolute path) with PATH, LC_ALL=C and
// OPENSSL_CONF=/dev/null (the same OpenSSL set-up inside the sandbox, where
// the host's /etc is not, and outside). Throws only when it cannot start.
ProgramOutcome run_program(const std::vector<std::string>& argv);

}  // namespace stage::signer
