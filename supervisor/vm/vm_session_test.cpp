// The real VmSession with a shell script standing in for QEMU: it gets
// QEMU's argv, prints a console on stdout and exits or waits as scripted.
#include "supervisor/vm/vm_session.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "supervisor/vm/boot_phases.hpp"
#include "supervisor/vm/vm_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

class VmSessionTest : public ::testing::Test {
 protected:
  VmSpec spec_for(const std::string& script) {
    const fs::path program = dir_.write("qemu", "#!/bin/sh\n" + script);
    ::chmod(program.c_str(), 0755);
    VmSpec spec;
    spec.qemu = program;
    spec.image = dir_.path() / "disk.raw";
    spec.console = ConsoleMode::kCapture;
    return spec;
  }
  ::tests::TempDir dir_;
  SignalGate signals_;
};

std::optional<ConsoleSignal> login(std::string_view raw) {
  if (auto prompt = find_login_prompt(raw)) return ConsoleSignal{*prompt};
  return std::nullopt;
}

TEST_F(VmSessionTest, SeesAPromptThatArrivesInPiecesAndStopsTheVm) {
  auto vm = start_qemu_session(spec_for("printf 'Booting\\r\\nhost lo'; sleep 0.3; printf 'gin: '; exec sleep 60\n"),
                               signals_);
  const ConsoleWait wait = vm->wait_for(login, 20s);
  EXPECT_EQ(wait.end, WaitEnd::kSeen);
  EXPECT_EQ(wait.seen.line, "host login:");
  EXPECT_GE(wait.elapsed, 300ms);
  const auto started = std::chrono::steady_clock::now();
  vm->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "the VM did not stop on SIGTERM";
  EXPECT_EQ(vm->console(), "Booting\r\nhost login: ");
}

TEST_F(VmSessionTest, ReportsTheExitStatusWithWhatWasPrintedBefore) {
  auto vm = start_qemu_session(spec_for("echo 'Booting'; echo 'no disk' >&2; exit 3\n"), signals_);
  const ConsoleWait wait = vm->wait_for(login, 20s);
  EXPECT_EQ(wait.end, WaitEnd::kVmExited);
  EXPECT_EQ(wait.why, "exited with status 3");
  EXPECT_EQ(vm->console(), "Booting\n");
  EXPECT_EQ(vm->qemu_stderr(), "no disk\n");
  // A second wait on an ended VM says the same and does not block.
  EXPECT_EQ(vm->wait_for(login, 20s).why, "exited with status 3");
}

TEST_F(VmSessionTest, ALineAfterWhichTheVmExitsIsStillSeen) {
  auto vm = start_qemu_session(spec_for("printf 'live-installer: installation complete\\r\\n'; exit 0\n"), signals_);
  const ConsoleWait wait = vm->wait_for(find_installer_result, 20s);
  EXPECT_EQ(wait.end, WaitEnd::kSeen);
  EXPECT_FALSE(wait.seen.failure);
}

TEST_F(VmSessionTest, TimesOutThenASignalInterruptsTheNextWait) {
  auto vm = start_qemu_session(spec_for("echo 'GRUB loading'; exec sleep 60\n"), signals_);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(vm->wait_for(login, 300ms).end, WaitEnd::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  ::kill(::getpid(), SIGTERM);  // blocked by the gate: it waits on the signalfd
  const ConsoleWait wait = vm->wait_for(login, 20s);
  EXPECT_EQ(wait.end, WaitEnd::kInterrupted);
  EXPECT_EQ(wait.why, "SIGTERM");
}

}  // namespace
}  // namespace supervisor
