#include "config/load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "build_info.hpp"
#include "base/error.hpp"

namespace config {
namespace {
namespace fs = std::filesystem;

const fs::path kData = fs::path(OIC_SOURCE_ROOT) / "tests" / "data";
const LoadOptions kOptions{kData / "config-fake"};

// The substring after "# expect: " on the first line of a broken template.
std::string expected_error(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  const std::string prefix = "# expect: ";
  return line.starts_with(prefix) ? line.substr(prefix.size()) : std::string();
}

// Every file in tests/data/broken is one kind of mistake. Those named
// merged-* are only wrong once merged over the OS default.
TEST(BrokenTemplates, EachFailsWithItsExpectedMessage) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kData / "broken")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 30U);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string expected = expected_error(file);
    ASSERT_FALSE(expected.empty()) << "first line must be '# expect: ...'";
    const bool merged = file.filename().string().starts_with("merged-");
    try {
      if (merged) {
        EXPECT_NO_THROW(load_user_template(file, kOptions)) << "should only fail after merging";
        load_merged_template(file, kOptions);
      } else {
        load_user_template(file, kOptions);
      }
      ADD_FAILURE() << "accepted";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << "names the file";
    }
  }
}

TEST(LoadTemplate, MergesAUserTemplateOverItsDefault) {
  const LoadedTemplate t = load_merged_template(kData / "templates" / "minimal-raw.yml", kOptions);
  EXPECT_EQ(t.default_path,
            kOptions.config_dir / "osv/debian/debian12/imageconfigs/defaultconfigs/default-raw-x86_64.yml");
  EXPECT_TRUE(t.warnings.empty());
  ASSERT_TRUE(t.tmpl.system_config && t.tmpl.disk);
  const SystemConfig& sc = *t.tmpl.system_config;
  EXPECT_EQ(sc.name, "Default_Raw");
  EXPECT_EQ(sc.hostname, "minimal");
  EXPECT_EQ(sc.packages, (std::vector<std::string>{"ca-certificates", "systemd-boot", "openssh-server", "vim"}));
  ASSERT_EQ(sc.additional_files.size(), 2U);
  EXPECT_EQ(sc.additional_files[1].final, "/etc/motd");
  EXPECT_EQ(t.tmpl.disk->partitions.size(), 4U);
  EXPECT_EQ(t.tmpl.image->name, "debian12-x86_64-minimal");
}

TEST(LoadTemplate, AcceptsATemplateWithOnlyImageAndTarget) {
  const fs::path dir = fs::temp_directory_path() / ("oic-load-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "iso.yml") << "image: {name: live, version: \"1\"}\n"
                                    "target: {os: debian, dist: debian12, arch: x86_64, imageType: iso}\n";
  const LoadedTemplate t = load_merged_template(dir / "iso.yml", kOptions);
  EXPECT_EQ(t.tmpl.system_config->name, "Default_ISO");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace config
