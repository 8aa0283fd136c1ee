#include "config/validate.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "config/defaults.hpp"
#include "config/template_parser.hpp"
#include "base/error.hpp"

namespace config {
namespace {
namespace fs = std::filesystem;

// A scratch config dir: osv/debian/debian12 with a raw and an initrd default.
class ValidateTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("oic-validate-" + std::to_string(::getpid()));
    dist_ = root_ / "config" / "osv" / "debian" / "debian12" / "imageconfigs";
    fs::create_directories(dist_ / "defaultconfigs");
    fs::create_directories(dist_ / "additionalfiles");
    fs::create_directories(root_ / "user" / "files");
    touch(dist_ / "defaultconfigs" / "default-raw-x86_64.yml");
    touch(dist_ / "defaultconfigs" / "default-initrd-x86_64.yml");
    touch(dist_ / "additionalfiles" / "dhcp.network");
    touch(root_ / "user" / "files" / "motd");
    touch(root_ / "outside.txt");
    options_.config_dir = root_ / "config";
  }
  void TearDown() override { fs::remove_all(root_); }

  static void touch(const fs::path& p) { std::ofstream(p) << "x\n"; }

  // Issues of `yaml` as if read from `file`, one per line.
  std::string issues_of(const std::string& yaml, const fs::path& file, TemplateRole role = TemplateRole::kUser) {
    std::string out;
    for (const Issue& i : check_template(parse_template_text(yaml, file), options_, role))
      out += format_issue(i) + "\n";
    return out;
  }

  // Warnings about the additional files of `yaml` as if read from `file`, one per line.
  std::string warnings_of(const std::string& yaml, const fs::path& file) {
    std::string out;
    for (const std::string& w : additional_file_warnings(parse_template_text(yaml, file), options_)) out += w + "\n";
    return out;
  }

  std::string with_files(const std::string& local) {
    return std::string(kHead) + "systemConfig:\n  additionalFiles: [{local: \"" + local + "\", final: /etc/x}]\n";
  }

  static constexpr const char* kHead =
      "image: {name: a, version: \"1\"}\ntarget: {os: debian, dist: debian12, arch: x86_64, imageType: raw}\n";
  fs::path root_;
  fs::path dist_;
  ValidateOptions options_;
};

TEST_F(ValidateTest, RequiresImageAndTargetInAUserTemplate) {
  const std::string out = issues_of("metadata: {description: d}\n", root_ / "user" / "t.yml");
  EXPECT_NE(out.find("image: is required"), std::string::npos) << out;
  EXPECT_NE(out.find("target: is required"), std::string::npos) << out;
}

TEST_F(ValidateTest, RequiresSystemConfigInADefaultAndDiskInAMergedRawImage) {
  EXPECT_NE(issues_of(kHead, root_ / "t.yml", TemplateRole::kDefault).find("systemConfig: is required"),
            std::string::npos);
  const std::string merged = issues_of(std::string(kHead) + "systemConfig: {name: x}\n", root_ / "t.yml",
                                       TemplateRole::kMerged);
  EXPECT_NE(merged.find("disk: is required for a raw image"), std::string::npos) << merged;
}

TEST_F(ValidateTest, AcceptsOnlyTargetsThatHaveADefaultTemplate) {
  EXPECT_EQ(issues_of(kHead, root_ / "user" / "t.yml"), "");
  std::string yaml = kHead;
  yaml.replace(yaml.find("raw"), 3, "img");  // img is found as default-initrd-<arch>.yml
  EXPECT_EQ(issues_of(yaml, root_ / "user" / "t.yml"), "");
  yaml.replace(yaml.find("img"), 3, "iso");
  const std::string out = issues_of(yaml, root_ / "user" / "t.yml");
  EXPECT_NE(out.find("no default template for debian/debian12/x86_64/iso"), std::string::npos) << out;
  EXPECT_NE(out.find("supported: debian/debian12/x86_64/img, debian/debian12/x86_64/raw"), std::string::npos) << out;
}

// Additional files are no validation issue: what build would refuse is a warning.
TEST_F(ValidateTest, AdditionalFilesAreNoIssue) {
  EXPECT_EQ(issues_of(with_files("files/none"), root_ / "user" / "t.yml"), "");
  EXPECT_EQ(issues_of(with_files("../outside.txt"), root_ / "user" / "t.yml"), "");
}

TEST_F(ValidateTest, WarnsOfAnAdditionalFileFoundNowhereNamingEveryPathTried) {
  EXPECT_EQ(warnings_of(with_files("files/motd"), root_ / "user" / "t.yml"), "");
  ImageTemplate t = parse_template_text(with_files("files/none"), root_ / "user" / "t.yml");
  const fs::path def = dist_ / "defaultconfigs" / "default-raw-x86_64.yml";
  t.system_config->additional_files[0].merge_chain = {def, root_ / "user" / "t.yml"};
  const std::vector<std::string> warnings = additional_file_warnings(t, options_);
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0], "'" + (root_ / "user" / "t.yml").string() +
                             "': additionalFiles entry local 'files/none' (final '/etc/x'): Failed to find the file; "
                             "looked for '" + (root_ / "user" / "files" / "none").string() + "', '" +
                             (dist_ / "defaultconfigs" / "files" / "none").string() +
                             "'; build fails on it (the reference tool dropped such an entry silently)");
}

// `build` refuses a file outside the template's and the OS data's
// directories unless --allow-outside-files is given: `validate` says so.
TEST_F(ValidateTest, WarnsOfAFileOutsideTheDirectoriesBuildTakesFilesFrom) {
  const std::string relative = warnings_of(with_files("../outside.txt"), root_ / "user" / "t.yml");
  EXPECT_NE(relative.find("'" + (root_ / "outside.txt").string() + "' is outside '" + (root_ / "user").string() +
                          "', '" + (root_ / "config" / "osv" / "debian" / "debian12").string() +
                          "'; build uses it only with --allow-outside-files"),
            std::string::npos) << relative;
  EXPECT_NE(warnings_of(with_files((root_ / "outside.txt").string()), root_ / "user" / "t.yml").find("is outside"),
            std::string::npos);
}

TEST_F(ValidateTest, LetsOsDefaultsReachTheirSiblingAdditionalFiles) {
  const fs::path def = dist_ / "defaultconfigs" / "default-raw-x86_64.yml";
  EXPECT_EQ(warnings_of(with_files("../additionalfiles/dhcp.network"), def), "");
  const std::string out = warnings_of(with_files("../../../../../../outside.txt"), def);
  EXPECT_NE(out.find("is outside"), std::string::npos) << out;
}

// `validate` of an ISO without its live environment: the error says which key and why.
TEST_F(ValidateTest, RequiresAnIsoToNameAnExistingLiveEnvironmentTemplate) {
  touch(dist_ / "defaultconfigs" / "default-iso-x86_64.yml");
  std::string iso = kHead;
  iso.replace(iso.find("raw"), 3, "iso");
  const fs::path user = root_ / "user" / "t.yml";
  const std::string without = issues_of(iso + "systemConfig: {name: x}\n", user, TemplateRole::kMerged);
  EXPECT_NE(without.find("systemConfig.initramfs.template: is required for an iso image"), std::string::npos)
      << without;
  EXPECT_EQ(issues_of(iso + "systemConfig: {name: x}\n", user, TemplateRole::kUser), "");
  touch(root_ / "user" / "live.yml");
  EXPECT_EQ(issues_of(iso + "systemConfig: {name: x, initramfs: {template: live.yml}}\n", user, TemplateRole::kMerged),
            "");
  const std::string missing =
      issues_of(iso + "systemConfig: {name: x, initramfs: {template: gone.yml}}\n", user, TemplateRole::kMerged);
  EXPECT_NE(missing.find("systemConfig.initramfs.template: Failed to find the live environment's template '" +
                         (root_ / "user" / "gone.yml").string() + "'"),
            std::string::npos) << missing;
  // `validate` of the user's template alone already finds it missing.
  const std::string alone =
      issues_of(iso + "systemConfig: {name: x, initramfs: {template: gone.yml}}\n", user, TemplateRole::kUser);
  EXPECT_NE(alone.find("Failed to find the live environment's template"), std::string::npos) << alone;
}

TEST_F(ValidateTest, ChecksPasswordsAndTheirHashAlgorithm) {
  const auto users = [&](const std::string& entry) {
    return issues_of(std::string(kHead) + "systemConfig:\n  users: [" + entry + "]\n", root_ / "user" / "t.yml");
  };
  EXPECT_EQ(users("{name: a, password: plain, hash_algo: md5}"), "");
  EXPECT_EQ(users("{name: a, password: \"$y$j9T$salt$hashhash\"}"), "");
  EXPECT_EQ(users("{name: a, password: \"$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0\"}"), "");
  EXPECT_NE(users("{name: a, password: \"$6$salt$hash\", hash_algo: sha512}").find("must be absent"),
            std::string::npos);
  EXPECT_NE(users("{name: a, password: \"$9$x\"}").find("is not a crypt hash"), std::string::npos);
}

TEST_F(ValidateTest, RejectsBadUserAndPackageNamesBuiltInCode) {
  ImageTemplate t = parse_template_text(kHead, root_ / "user" / "t.yml");
  t.system_config = SystemConfig{};
  t.system_config->packages = {"ok", "not ok"};
  t.system_config->users = {User{.name = std::string(33, 'a')}};
  std::string out;
  for (const Issue& i : check_template(t, options_, TemplateRole::kUser)) out += format_issue(i) + "\n";
  EXPECT_NE(out.find("systemConfig.packages[1]: \"not ok\" is not a valid package name"), std::string::npos) << out;
  EXPECT_NE(out.find("systemConfig.users[0].name"), std::string::npos) << out;
}

TEST_F(ValidateTest, ThrowsOneInvalidInputErrorListingEveryIssue) {
  try {
    validate_template(parse_template_text("metadata: {}\n", "t.yml"), options_, TemplateRole::kUser);
    FAIL() << "accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("2 problems\nt.yml: image: is required\nt.yml: target: is required"),
              std::string::npos) << e.message();
  }
}

TEST(DefaultTemplatePath, MapsImgToTheInitrdDefault) {
  const Target t{"debian", "debian12", "aarch64", "img"};
  EXPECT_EQ(default_template_path("/c", t),
            "/c/osv/debian/debian12/imageconfigs/defaultconfigs/default-initrd-aarch64.yml");
}

}  // namespace
}  // namespace config
