#include "config/initramfs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <functional>

#include "base/error.hpp"
#include "build_info.hpp"
#include "config/template_parser.hpp"

namespace config {
namespace {
namespace fs = std::filesystem;

const fs::path kFake = fs::path(OIC_SOURCE_ROOT) / "tests" / "data" / "config-fake";
const fs::path kFakeDefaults = kFake / "osv" / "debian" / "debian12" / "imageconfigs" / "defaultconfigs";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    return e.message() + "\n" + e.what();
  }
  return "(no error)";
}

class LiveTemplate : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oic-initramfs-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "live");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const fs::path& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  LoadedTemplate load_iso(const std::string& system_config) {
    write("iso.yml", std::string(kIsoHead) + system_config);
    return load_merged_template(dir_ / "iso.yml", LoadOptions{kFake});
  }

  static constexpr const char* kIsoHead =
      "image: {name: iso, version: \"1\"}\ntarget: {os: debian, dist: debian12, arch: x86_64, imageType: iso}\n";
  static constexpr const char* kLiveHead =
      "image: {name: live, version: \"2\"}\ntarget: {os: debian, dist: debian12, arch: x86_64, imageType: img}\n";
  fs::path dir_;
};

// The default's value is relative to the default's directory, not the user's.
TEST_F(LiveTemplate, TheDefaultsValueIsResolvedInTheDefaultsDirectory) {
  const LoadedTemplate iso = load_iso("");
  EXPECT_EQ(initramfs_template_path(iso.tmpl), fs::absolute(kFakeDefaults) / "default-initrd-x86_64.yml");
  const LoadedTemplate live = load_live_template(iso.tmpl, LoadOptions{kFake});
  EXPECT_EQ(live.tmpl.system_config->name, "Default_Initrd");
  EXPECT_EQ(live.tmpl.target->image_type, "img");
}

// The user's value is relative to the user's template, and the live template
// is merged with its own OS default like any user template.
TEST_F(LiveTemplate, TheUsersValueIsResolvedInTheUsersDirectoryAndMerged) {
  write("live/mine.yml", std::string(kLiveHead) + "systemConfig: {packages: [gzip]}\n");
  const LoadedTemplate iso = load_iso("systemConfig: {initramfs: {template: live/mine.yml}}\n");
  EXPECT_EQ(initramfs_template_path(iso.tmpl), fs::absolute(dir_) / "live" / "mine.yml");
  const LoadedTemplate live = load_live_template(iso.tmpl, LoadOptions{kFake});
  EXPECT_EQ(live.tmpl.image->name, "live");
  EXPECT_EQ(live.tmpl.system_config->name, "Default_Initrd");  // from the initrd default
  EXPECT_EQ(live.tmpl.system_config->packages, (std::vector<std::string>{"systemd", "gzip"}));
  EXPECT_EQ(live.tmpl.source, dir_ / "live" / "mine.yml");
}

TEST_F(LiveTemplate, ALiveTemplateThatIsNotAnInitrdIsRefusedNamingIt) {
  write("live/raw.yml", std::string(kLiveHead).replace(std::string(kLiveHead).find("img"), 3, "raw") +
                            "disk: {name: d, size: 1GiB, partitions: [{id: r, type: linux, start: 1MiB, end: \"0\", "
                            "mountPoint: /}]}\n");
  const LoadedTemplate iso = load_iso("systemConfig: {initramfs: {template: live/raw.yml}}\n");
  const std::string message = error_of([&] { load_live_template(iso.tmpl, LoadOptions{kFake}); });
  EXPECT_NE(message.find("'" + (dir_ / "live" / "raw.yml").string() + "' has imageType 'raw'; a live environment "
                         "must be imageType img"),
            std::string::npos) << message;
}

TEST_F(LiveTemplate, AMissingOrUnsetLiveTemplateIsAnErrorNamingTheIsoTemplate) {
  ImageTemplate iso = parse_template_text(std::string(kIsoHead) + "systemConfig: {name: x}\n", dir_ / "iso.yml");
  const std::string unset = error_of([&] { initramfs_template_path(iso); });
  EXPECT_NE(unset.find("'" + (dir_ / "iso.yml").string() + "': an iso image needs systemConfig.initramfs.template"),
            std::string::npos) << unset;
  iso = parse_template_text(std::string(kIsoHead) + "systemConfig: {initramfs: {template: gone.yml}}\n",
                            dir_ / "iso.yml");
  const std::string missing = error_of([&] { load_live_template(iso, LoadOptions{kFake}); });
  EXPECT_NE(missing.find("Failed to find the template '" + (fs::absolute(dir_) / "gone.yml").string() + "'"),
            std::string::npos) << missing;
  EXPECT_NE(missing.find("systemConfig.initramfs.template of '" + (dir_ / "iso.yml").string() + "'"),
            std::string::npos) << missing;
}

}  // namespace
}  // namespace config
