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
