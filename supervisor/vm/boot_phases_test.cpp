// The --check and --install sequences driven by a scripted console (no
// QEMU), and the blank disk qemu-img makes for them.
#include "supervisor/vm/boot_phases.hpp"

#include <deque>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "supervisor/vm/blank_disk.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// What one scripted VM prints, chunk by chunk, and how a wait ends when no
// chunk satisfies the watcher.
struct Script {
  std::vector<std::string> chunks;
  WaitEnd otherwise = WaitEnd::kTimedOut;
  std::string why;
};

// What the sequence did with one VM.
struct VmRecord {
  VmSpec spec;
  std::vector<milliseconds> waits;
  bool stopped = false;
};

// Feeds each wait the chunks not shown yet, with the text a real session
// gives a watcher: from the start of the last incomplete line.
class ScriptedSession final : public VmSession {
 public:
  ScriptedSession(Script script, std::shared_ptr<VmRecord> record)
      : script_(std::move(script)), record_(std::move(record)) {}
  ~ScriptedSession() override { record_->stopped = true; }

  ConsoleWait wait_for(const ConsoleWatcher& watcher, milliseconds timeout) override {
    record_->waits.push_back(timeout);
    while (next_ < script_.chunks.size()) {
      console_ += script_.chunks[next_++];
      std::optional<ConsoleSignal> seen = watcher(std::string_view(console_).substr(scan_from_));
      if (const auto nl = console_.rfind('\n'); nl != std::string::npos) scan_from_ = nl + 1;
      if (seen) return {WaitEnd::kSeen, *seen, {}, 2s};
    }
    return {script_.otherwise, {}, script_.why, script_.otherwise == WaitEnd::kTimedOut ? timeout : 3s};
  }
  void stop() override { record_->stopped = true; }
  const std::string& console() const override { return console_; }
  const std::string& qemu_stderr() const override { return stderr_; }

 private:
  Script script_;
  std::shared_ptr<VmRecord> record_;
  std::size_t next_ = 0;
  std::size_t scan_from_ = 0;
  std::string console_;
  std::string stderr_;
};

class ScriptedVms {
 public:
  explicit ScriptedVms(std::deque<Script> scripts) : scripts_(std::move(scripts)) {}
  VmLauncher launcher() {
    return [this](const VmSpec& spec) -> std::unique_ptr<VmSession> {
      if (scripts_.empty()) throw std::logic_error("more VMs started than scripted");
      records_.push_back(std::make_shared<VmRecord>(VmRecord{spec}));
      Script script = std::move(scripts_.front());
      scripts_.pop_front();
      return std::make_unique<ScriptedSession>(std::move(script), records_.back());
    };
  }
  const std::vector<std::shared_ptr<VmRecord>>& records() const { return records_; }

 private:
  std::deque<Script> scripts_;
  std::vector<std::shared_ptr<VmRecord>> records_;
};

VmSpec live_spec() {
  VmSpec spec;
  spec.qemu = "/usr/bin/qemu-system-x86_64";
  spec.cdrom = "/images/live.iso";
  spec.image = "/tmp/scratch/disk.qcow2";
  spec.format = DiskFormat::kQcow2;
  spec.firmware_code = "/fw/CODE.fd";
  spec.firmware_vars = "/tmp/scratch/OVMF_VARS.fd";
  spec.console = ConsoleMode::kCapture;
  spec.serial_log = "/logs/console.log";
  return spec;
}

const InstallTimeouts kTimeouts{1800s, 300s};
const std::string kBootNoise = "\x1b[2J[    0.000000] Linux version 6.1.0\r\nWelcome to Debian\r\n";
const std::string kDone = "live-installer: installation complete\r\n";

TEST(InstallerResult, TakesTheCompletionLineOrAFinishedFailureLine) {
  const auto done = find_installer_result("x\r\n\x1b[1mlive-installer: installation complete\x1b[0m\r\n");
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->failure);
  EXPECT_EQ(done->line, "live-installer: installation complete");
  const auto failed = find_installer_result("[ 9.1] live-installer: installation failed: no disk /dev/vda\r\nmore");
  ASSERT_TRUE(failed.has_value());
  EXPECT_TRUE(failed->failure);
  EXPECT_EQ(failed->line, "[ 9.1] live-installer: installation failed: no disk /dev/vda");
  // The reason may still be arriving: an unfinished failure line is not taken.
  EXPECT_FALSE(find_installer_result("live-installer: installation failed: no disk /dev/v").has_value());
  EXPECT_FALSE(find_installer_result("live-installer: writing image 42%\r\nlogin: ").has_value());
  EXPECT_FALSE(find_installer_result("").has_value());
}

TEST(InstalledSystemSpec, IsTheSameMachineWithoutTheCdromAndWithoutWritesToTheDisk) {
  VmSpec live = live_spec();
  live.bios = true;
  const VmSpec installed = installed_system_spec(live);
  EXPECT_TRUE(installed.cdrom.empty());
  EXPECT_EQ(installed.image, live.image);
  EXPECT_EQ(qemu_format_name(installed.format), "qcow2");
  EXPECT_EQ(installed.firmware_vars, live.firmware_vars);
  EXPECT_TRUE(installed.bios);
  EXPECT_TRUE(installed.snapshot);
  EXPECT_TRUE(installed.serial_log_append);
  EXPECT_EQ(installed.console, ConsoleMode::kCapture);
}

TEST(InstallAndCheck, RestartsFromTheDiskAloneAfterTheInstallerAndWaitsForItsLogin) {
  ScriptedVms vms({Script{{kBootNoise, "live-installer: writing\r\n", kDone}, WaitEnd::kVmExited, "exited with status 0"},
                   Script{{kBootNoise, "debian12 login: "}}});
  const std::vector<PhaseOutcome> phases = install_and_check(vms.launcher(), live_spec(), kTimeouts);
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[0].phase, BootPhase::kInstaller);
  EXPECT_TRUE(phases[0].reached);
  EXPECT_EQ(phases[0].line, "live-installer: installation complete");
  EXPECT_EQ(phases[1].phase, BootPhase::kInstalledSystem);
  EXPECT_TRUE(phases[1].reached) << phases[1].failure;
  EXPECT_EQ(phases[1].line, "debian12 login:");
  ASSERT_EQ(vms.records().size(), 2u);
  const VmRecord& live = *vms.records()[0];
  const VmRecord& installed = *vms.records()[1];
  EXPECT_EQ(live.spec.cdrom, "/images/live.iso");
  EXPECT_FALSE(live.spec.snapshot);
  EXPECT_TRUE(installed.spec.cdrom.empty());
  EXPECT_EQ(installed.spec.image, live.spec.image);
  EXPECT_TRUE(live.stopped);
  EXPECT_TRUE(installed.stopped);
  // The installer's wait, then a short one for the guest's own reboot; then the login's.
  ASSERT_EQ(live.waits.size(), 2u);
  EXPECT_EQ(live.waits[0], milliseconds(1800s));
  EXPECT_LT(live.waits[1], milliseconds(60s));
  EXPECT_EQ(installed.waits, std::vector<milliseconds>{milliseconds(300s)});
}

TEST(InstallAndCheck, AFailureLineEndsTheSequenceWithItsWholeReason) {
  ScriptedVms vms({Script{{kBootNoise, "live-installer: installation failed: disk /dev/v", "da not found\r\n", kDone}}});
  const std::vector<PhaseOutcome> phases = install_and_check(vms.launcher(), live_spec(), kTimeouts);
  ASSERT_EQ(phases.size(), 1u);
  EXPECT_FALSE(phases[0].reached);
  EXPECT_EQ(phases[0].phase, BootPhase::kInstaller);
  EXPECT_EQ(phases[0].failure, "the installer failed: disk /dev/vda not found");
  EXPECT_NE(phases[0].console.find("Welcome to Debian"), std::string::npos);
  EXPECT_EQ(vms.records().size(), 1u) << "the disk was booted after a failed installation";
  EXPECT_TRUE(vms.records()[0]->stopped);
}

TEST(InstallAndCheck, EachPhaseSaysWhatItWaitedForWhenItEnds) {
  struct Case {
    const char* name;
    std::deque<Script> scripts;
    BootPhase phase;
    std::string failure;
  };
  const Case cases[] = {
      {"installer timeout", {Script{{kBootNoise}}}, BootPhase::kInstaller,
       "no result from the installer on the serial console after 1800 s"},
      {"live vm exits", {Script{{kBootNoise}, WaitEnd::kVmExited, "exited with status 1"}}, BootPhase::kInstaller,
       "qemu exited with status 1 before the installer reported its result"},
      {"signal while installing", {Script{{}, WaitEnd::kInterrupted, "SIGINT"}}, BootPhase::kInstaller,
       "interrupted by SIGINT before the installer reported its result"},
      {"signal between the phases", {Script{{kDone}, WaitEnd::kInterrupted, "SIGTERM"}}, BootPhase::kInstalledSystem,
       "interrupted by SIGTERM before the installed system started"},
      {"installed system timeout", {Script{{kDone}}, Script{{"Booting from Hard Disk...\r\n"}}},
       BootPhase::kInstalledSystem, "no login prompt on the serial console after 300 s"},
      {"installed system exits", {Script{{kDone}}, Script{{}, WaitEnd::kVmExited, "was killed by SIGKILL"}},
       BootPhase::kInstalledSystem, "qemu was killed by SIGKILL before a login prompt appeared"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScriptedVms vms(c.scripts);
    const std::vector<PhaseOutcome> phases = install_and_check(vms.launcher(), live_spec(), kTimeouts);
    EXPECT_FALSE(phases.back().reached);
    EXPECT_EQ(to_string(phases.back().phase), to_string(c.phase));
    EXPECT_EQ(phases.back().failure, c.failure);
    for (const auto& record : vms.records()) EXPECT_TRUE(record->stopped);
  }
}

TEST(CheckLogin, WaitsForThePromptOnlyAndStopsTheVm) {
  // An installer line is not a login prompt; a login prompt is not the installer's result.
  ScriptedVms vms({Script{{kDone, "live login: "}}, Script{{"host login: "}}});
  const PhaseOutcome live = check_login(vms.launcher(), live_spec(), BootPhase::kLiveEnvironment, 60s);
  EXPECT_TRUE(live.reached);
  EXPECT_EQ(live.line, "live login:");
  EXPECT_EQ(live.elapsed, milliseconds(2s));
  EXPECT_TRUE(vms.records()[0]->stopped);
  ScriptedVms installer({Script{{"host login: "}}});
  const std::vector<PhaseOutcome> phases = install_and_check(installer.launcher(), live_spec(), kTimeouts);
  EXPECT_EQ(phases.size(), 1u);
  EXPECT_FALSE(phases[0].reached);
}

// qcow2 header: magic, then the virtual size as a big-endian 64-bit number at 24.
std::uint64_t qcow2_size(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char header[32] = {};
  in.read(header, sizeof header);
  EXPECT_EQ(std::string(header, 4), "QFI\xfb");
  std::uint64_t size = 0;
  for (int i = 24; i < 32; ++i) size = size << 8 | static_cast<unsigned char>(header[i]);
  return size;
}

TEST(BlankDisk, QemuImgMakesASparseQcow2OfTheSizeAskedAndNeverOverwrites) {
  if (!fs::exists("/usr/bin/qemu-img")) GTEST_SKIP() << "qemu-img is not installed (Debian package qemu-utils)";
  ::tests::TempDir dir;
  const fs::path disk = dir.path() / "disk.qcow2";
  create_blank_disk("/usr/bin/qemu-img", disk, 8);
  EXPECT_EQ(qcow2_size(disk), 8ull << 30);
  EXPECT_LT(fs::file_size(disk), 1u << 20);
  const fs::path taken = dir.write("taken.qcow2", "keep me");
  EXPECT_THROW(create_blank_disk("/usr/bin/qemu-img", taken, 1), base::Error);
  std::ifstream in(taken);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
  EXPECT_THROW(create_blank_disk("/usr/bin/qemu-img", dir.path() / "zero.qcow2", 0), base::Error);
  try {
    create_blank_disk("/usr/bin/qemu-img", dir.path() / "absent-dir" / "d.qcow2", 1);
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kFailed);
    EXPECT_NE(e.message().find("with qemu-img: "), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("absent-dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace supervisor
