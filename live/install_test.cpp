#include "live/install.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "live/command.hpp"
#include "live/test_medium.hpp"

namespace live {
namespace {

using testing::Medium;

struct InstallRun {
  Medium medium{testing::patterned_raw(4096)};
  tests::TempDir state{"oic-live-run"};
  std::istringstream in;
  std::ostringstream out;
  Console console{in, out, false};
  InstallOptions options;
  InstallRun() {
    options.medium = medium.dir.path();
    options.sys = state.path() / "sys";
    options.run_dir = state.path() / "run";
    options.dev = state.path() / "dev";
    state.write("sys/class/tty/console/active", "ttyS0\n");
    state.write("dev/ttyS0", "");
  }
  std::string outcome() { return run_installation(options, console); }
};

TEST(LiveInstall, FailsNamingADiskThatDoesNotExist) {
  InstallRun run;
  run.medium.manifest["diskPath"] = "/dev/oic-no-such-disk";
  run.medium.save();
  EXPECT_EQ(run.outcome(), "live-installer: installation failed: disk /dev/oic-no-such-disk does not exist");
  EXPECT_NE(run.out.str().find("live-installer: installation failed: disk /dev/oic-no-such-disk"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(run.state.path() / "run/outcome"));  // another console may try
  EXPECT_EQ(std::filesystem::file_size(run.state.path() / "dev/ttyS0"), 0u);  // nor is it told the others
}

TEST(LiveInstall, FailsNamingADiskThatIsAFile) {
  InstallRun run;
  const auto file = run.state.write("disk.img", std::string(8192, '\0'));
  run.options.disk = file.string();  // --disk wins over the manifest's diskPath
  EXPECT_EQ(run.outcome(), "live-installer: installation failed: disk " + file.string() + " is not a block device");
  EXPECT_EQ(run.state.read("disk.img"), std::string(8192, '\0'));
}

TEST(LiveInstall, FailsUnattendedWithoutADisk) {
  InstallRun run;
  run.medium.manifest["diskPath"] = "";
  run.medium.save();
  run.options.mode = Mode::kUnattended;
  EXPECT_EQ(run.outcome(), std::string(kFailedPrefix) +
                               "an unattended installation needs a disk: the manifest has no diskPath and no --disk was given");
}

TEST(LiveInstall, AsksOnTheConsoleWhenTheManifestNamesNoDisk) {
  InstallRun run;
  run.medium.manifest["diskPath"] = "";
  run.medium.save();
  run.state.write("sys/block/vdz/dev", "254:400\n");
  run.state.write("sys/block/vdz/size", "2048\n");
  run.in.str("vdz\n\n\nno\n");
  EXPECT_EQ(run.outcome(), std::string(kFailedPrefix) + "installation cancelled at the console (answer 'no', not 'yes')");
  EXPECT_NE(run.out.str().find("1) vdz  1.0 MiB"), std::string::npos) << run.out.str();
}

TEST(LiveInstall, FailsOnABadMedium) {
  InstallRun run;
  run.medium.manifest["format"] = 7;
  run.medium.save();
  EXPECT_EQ(run.outcome().rfind(kFailedPrefix, 0), 0u);
}

bool has_interpreter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  for (int i = 0; in && i < header.e_phnum; ++i) {
    Elf64_Phdr program{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + static_cast<std::uint64_t>(i) * header.e_phentsize));
    in.read(reinterpret_cast<char*>(&program), sizeof program);
    if (program.p_type == PT_INTERP) return true;
  }
  return false;
}

TEST(LiveInstallerProgram, IsStaticAndPrintsTheFailureLine) {
  const char* program = std::getenv("LIVE_INSTALLER");
  ASSERT_NE(program, nullptr) << "meson sets LIVE_INSTALLER";
  if (std::getenv("LIVE_INSTALLER_DYNAMIC") == nullptr) {
    EXPECT_FALSE(has_interpreter(program)) << program << " is dynamic";
  }
  Medium medium(testing::patterned_raw(4096));
  const CommandResult result = run_command({program, "--medium", medium.dir.path().string(), "--disk",
                                            "/dev/oic-no-such-disk", "--no-reboot"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("live-installer: installation failed: disk /dev/oic-no-such-disk does not exist\n"),
            std::string::npos) << result.output;
  const CommandResult usage = run_command({program, "--bogus"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.output.rfind("live-installer: installation failed: bad argument '--bogus'", 0), 0u) << usage.output;
}

}  // namespace
}  // namespace live
