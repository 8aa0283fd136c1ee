#include "config/load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include "build_info.hpp"
#include "base/error.hpp"
#include "config/merge.hpp"

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

// A scratch tree: a user's project with templates/ and files/ side by side,
// and a second user directory elsewhere.
class AdditionalFileLayouts : public testing::Test {
 protected:
  AdditionalFileLayouts() : dir_(fs::temp_directory_path() / ("oic-load-files-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_ / "project" / "templates");
    fs::create_directories(dir_ / "project" / "files");
    fs::create_directories(dir_ / "elsewhere");
    std::ofstream(dir_ / "project" / "files" / "x") << "x\n";
  }
  ~AdditionalFileLayouts() override { fs::remove_all(dir_); }

  fs::path write_template(const fs::path& path, const std::string& local) const {
    std::ofstream(path) << "image: {name: a, version: \"1\"}\n"
                           "target: {os: debian, dist: debian12, arch: x86_64, imageType: raw}\n"
                           "systemConfig:\n  additionalFiles: [{local: \"" << local << "\", final: /etc/x}]\n";
    return path;
  }
  static const AdditionalFile& entry(const LoadedTemplate& t, const std::string& final) {
    for (const AdditionalFile& f : t.tmpl.system_config->additional_files)
      if (f.final == final) return f;
    throw std::runtime_error("no additional file for " + final);
  }
  static std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
  }

  fs::path dir_;
};

// The reference's layout of a user's project: found beside the template;
// build takes it only with --allow-outside-files, and validate says so.
TEST_F(AdditionalFileLayouts, ATemplatesAndFilesTreeValidatesPlainAndMerged) {
  const fs::path t = write_template(dir_ / "project" / "templates" / "t.yml", "../files/x");
  const LoadedTemplate plain = load_user_template(t, kOptions);
  const LoadedTemplate merged = load_merged_template(t, kOptions);
  EXPECT_EQ(find_additional_file(entry(merged, "/etc/x"), merged.tmpl.source), dir_ / "project" / "files" / "x");
  for (const LoadedTemplate* loaded : {&plain, &merged}) {
    const std::string warnings = joined(loaded->warnings);
    EXPECT_EQ(warnings.find("Failed to find"), std::string::npos) << warnings;
    EXPECT_NE(warnings.find("build uses it only with --allow-outside-files"), std::string::npos) << warnings;
  }
}

// The reference tries every template of the merge chain: a user template
// anywhere may name a file beside its OS default, as the defaults' own
// `../additionalfiles/...` entries do.
TEST_F(AdditionalFileLayouts, FindsFilesBesideTheOsDefaultFromAUserTemplateElsewhere) {
  const fs::path t = write_template(dir_ / "elsewhere" / "t.yml", "../additionalfiles/motd");
  const fs::path files = kOptions.config_dir / "osv/debian/debian12/imageconfigs/additionalfiles";
  EXPECT_TRUE(load_user_template(t, kOptions).warnings.empty());
  const LoadedTemplate merged = load_merged_template(t, kOptions);
  EXPECT_TRUE(merged.warnings.empty()) << joined(merged.warnings);
  EXPECT_EQ(find_additional_file(entry(merged, "/etc/x"), merged.tmpl.source), files / "motd");
  EXPECT_EQ(find_additional_file(entry(merged, "/etc/systemd/network/dhcp.network"), merged.tmpl.source),
            files / "dhcp.network");
}

TEST_F(AdditionalFileLayouts, AFileFoundNowhereIsAWarningNamingThePathsTried) {
  const fs::path t = write_template(dir_ / "elsewhere" / "t.yml", "files/absent");
  const fs::path defaults = kOptions.config_dir / "osv/debian/debian12/imageconfigs/defaultconfigs";
  for (const LoadedTemplate& loaded : {load_user_template(t, kOptions), load_merged_template(t, kOptions)}) {
    const std::string warnings = joined(loaded.warnings);
    EXPECT_NE(warnings.find("'" + t.string() + "': additionalFiles entry local 'files/absent' (final '/etc/x'): "
                            "Failed to find the file; looked for '" + (dir_ / "elsewhere/files/absent").string() +
                            "', '" + (defaults / "files/absent").string() + "'"),
              std::string::npos) << warnings;
  }
}

}  // namespace
}  // namespace config
