// Additional files are opened beneath the template's and the OS data's
// directories, never through a link that leads out, and the fd opened is
// the file checked.
#include "supervisor/build/additional_files.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class AdditionalFiles : public ::testing::Test {
 protected:
  AdditionalFiles() : dir_(fs::temp_directory_path() / ("oic-addfiles-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_ / "template/files");
    fs::create_directories(dir_ / "osv/debian/debian12");
    fs::create_directories(dir_ / "home/.ssh");
    write(dir_ / "template/files/motd", "hello\n");
    write(dir_ / "osv/debian/debian12/issue", "os data\n");
    write(dir_ / "home/.ssh/id_ed25519", "PRIVATE KEY\n");
    image_.source = dir_ / "template/image.yml";
  }
  ~AdditionalFiles() override { fs::remove_all(dir_); }

  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  static std::string read_fd(int fd) {
    std::string text(64, '\0');
    const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
  }
  AdditionalFileRoots roots(bool allow_outside = false) const {
    return additional_file_roots(image_, dir_ / "osv/debian/debian12", allow_outside);
  }
  std::string refusal(const fs::path& source, bool allow_outside = false) const {
    try {
      open_additional_file(source, roots(allow_outside));
    } catch (const base::Error& e) {
      return e.what();
    }
    return "(accepted)";
  }

  fs::path dir_;
  config::ImageTemplate image_;
};

TEST_F(AdditionalFiles, OpensFilesOfTheTemplateAndTheOsDataDirectories) {
  EXPECT_EQ(read_fd(open_additional_file(dir_ / "template/files/motd", roots()).fd.get()), "hello\n");
  EXPECT_EQ(read_fd(open_additional_file(dir_ / "osv/debian/debian12/issue", roots()).fd.get()), "os data\n");
  // A link that stays inside is followed.
  fs::create_symlink("motd", dir_ / "template/files/motd-link");
  EXPECT_EQ(read_fd(open_additional_file(dir_ / "template/files/motd-link", roots()).fd.get()), "hello\n");
}

TEST_F(AdditionalFiles, RefusesAFileOutsideNamingItTheDirectoriesAndTheFlag) {
  const fs::path key = dir_ / "home/.ssh/id_ed25519";
  const std::string error = refusal(key);
  EXPECT_THAT(error, HasSubstr("additional file '" + key.string() +
                               "' is outside the template's and the OS data's directories"));
  EXPECT_THAT(error, HasSubstr("'" + (dir_ / "template").string() + "', '" + (dir_ / "osv/debian/debian12").string()));
  EXPECT_THAT(error, HasSubstr("--allow-outside-files"));
  EXPECT_THAT(refusal("/etc/shadow"), HasSubstr("'/etc/shadow' is outside"));
  EXPECT_THAT(refusal(dir_ / "template/../home/.ssh/id_ed25519"), HasSubstr("is outside"));
}

TEST_F(AdditionalFiles, RefusesALinkInsideThatLeadsOut) {
  fs::create_symlink(dir_ / "home/.ssh/id_ed25519", dir_ / "template/files/key");
  fs::create_symlink("../../home/.ssh", dir_ / "template/files/ssh");
  EXPECT_THAT(refusal(dir_ / "template/files/key"),
              HasSubstr("leads out of '" + (dir_ / "template").string() + "' through a symbolic link"));
  EXPECT_THAT(refusal(dir_ / "template/files/ssh/id_ed25519"), HasSubstr("through a symbolic link"));
}

TEST_F(AdditionalFiles, TheFlagAllowsOutsideFiles) {
  const fs::path key = dir_ / "home/.ssh/id_ed25519";
  EXPECT_EQ(read_fd(open_additional_file(key, roots(true)).fd.get()), "PRIVATE KEY\n");
}

// What the installer gets is the file that was checked, whatever the path
// names afterwards.
TEST_F(AdditionalFiles, TheFdIsTheFileChecked) {
  const OpenedAdditionalFile opened = open_additional_file(dir_ / "template/files/motd", roots());
  fs::remove(dir_ / "template/files/motd");
  fs::create_symlink(dir_ / "home/.ssh/id_ed25519", dir_ / "template/files/motd");
  EXPECT_EQ(read_fd(opened.fd.get()), "hello\n");
}

// A merged template's entry as the merge leaves it: declared in `declared_in`,
// merge chain default then user.
config::AdditionalFile merged_entry(const std::string& local, const fs::path& declared_in,
                                            const fs::path& default_template, const fs::path& user_template) {
  return {.local = local, .final = "/etc/x", .declared_in = declared_in,
          .merge_chain = {default_template, user_template}};
}

class AdditionalFilesOfAMerge : public AdditionalFiles {
 protected:
  AdditionalFilesOfAMerge() {
    fs::create_directories(dir_ / "osv/debian/debian12/imageconfigs/additionalfiles");
    write(dir_ / "osv/debian/debian12/imageconfigs/additionalfiles/net", "network\n");
    fs::create_directories(dir_ / "files");
    write(dir_ / "files/x", "beside templates/\n");
    image_.system_config = config::SystemConfig{};
  }
  void add(const std::string& local, const fs::path& declared_in) {
    image_.system_config->additional_files.push_back(merged_entry(local, declared_in, default_, image_.source));
  }
  std::string check_refusal(bool allow_outside = false) const {
    try {
      check_additional_files(image_, roots(allow_outside));
    } catch (const base::Error& e) {
      return e.what();
    }
    return "(accepted)";
  }

  const fs::path default_ = dir_ / "osv/debian/debian12/imageconfigs/defaultconfigs/default-raw-x86_64.yml";
};

// Tried beside the declaring template, then beside the others of the merge
// chain: a user template elsewhere may name a file beside its OS default.
TEST_F(AdditionalFilesOfAMerge, FindsAFileBesideAnyTemplateOfTheMergeChain) {
  add("../additionalfiles/net", default_);
  add("../additionalfiles/net", image_.source);
  add("files/motd", image_.source);
  EXPECT_EQ(check_refusal(), "(accepted)");
  const fs::path net = dir_ / "osv/debian/debian12/imageconfigs/additionalfiles/net";
  EXPECT_EQ(require_additional_file(image_.system_config->additional_files[1], image_.source), net);
  EXPECT_EQ(read_fd(open_additional_file(net, roots()).fd.get()), "network\n");
}

// templates/ + files/: found, but outside the template's directory, so
// the sandbox rule holds: used only with the flag.
TEST_F(AdditionalFilesOfAMerge, AFileBesideTheTemplatesDirectoryNeedsTheFlag) {
  add("../files/x", image_.source);
  EXPECT_EQ(require_additional_file(image_.system_config->additional_files[0], image_.source), dir_ / "files/x");
  EXPECT_THAT(check_refusal(), HasSubstr("additional file '" + (dir_ / "files/x").string() + "' is outside"));
  EXPECT_THAT(check_refusal(), HasSubstr("--allow-outside-files"));
  EXPECT_EQ(check_refusal(true), "(accepted)");
}

TEST_F(AdditionalFilesOfAMerge, AFileFoundNowhereFailsNamingTheEntryTheTemplateAndThePathsTried) {
  add("files/absent", image_.source);
  const std::string error = check_refusal(true);
  EXPECT_THAT(error, HasSubstr("additional file 'files/absent' (final '/etc/x', declared in '" +
                               image_.source.string() + "') is not found; looked for '" +
                               (dir_ / "template/files/absent").string() + "', '" +
                               (dir_ / "osv/debian/debian12/imageconfigs/defaultconfigs/files/absent").string() +
                               "'"));
  EXPECT_THAT(error, HasSubstr("dropped a missing file silently"));
}

TEST_F(AdditionalFiles, RefusesWhatIsNotARegularFile) {
  EXPECT_THAT(refusal(dir_ / "template/files"), HasSubstr("is not a regular file"));
}

// The build's own files (an ISO's live-installer) come from where the build
// keeps its programs, outside any template directory; they are still not
// reached through a link, and must be regular files.
TEST_F(AdditionalFiles, ASuppliedFileIsOpenedWhereTheBuildKeepsIt) {
  write(dir_ / "home/live-installer", "program\n");
  const OpenedAdditionalFile opened = open_supplied_file({dir_ / "home/live-installer", "/usr/bin/live-installer", 0755});
  EXPECT_EQ(read_fd(opened.fd.get()), "program\n");
  EXPECT_EQ(opened.mode, 0755u);
  const auto error = [](const SuppliedFile& file) {
    try {
      open_supplied_file(file);
    } catch (const base::Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  fs::create_symlink(dir_ / "home/.ssh/id_ed25519", dir_ / "home/linked");
  EXPECT_THAT(error({dir_ / "home/linked", "/usr/bin/x", 0755}), HasSubstr("Failed to open '" + (dir_ / "home/linked").string()));
  EXPECT_THAT(error({dir_ / "home", "/usr/bin/x", 0755}), HasSubstr("is not a regular file"));
  EXPECT_THAT(error({"home/live-installer", "/usr/bin/x", 0755}), HasSubstr("must be absolute"));
}

}  // namespace
}  // namespace supervisor
