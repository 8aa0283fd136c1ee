// build --check-reproducible's verdict on outputs and reports made by hand:
// which outputs differ and how, what is hashed in an output directory, and
// how a disk image's differences are told (a file and why, or metadata only).
#include "supervisor/cli/reproducibility_report.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "base/error.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;
namespace inspector = stage::inspector;

// SHA-256 of "abc" (FIPS 180-2, appendix B.1).
const std::string kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "oic-repro-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

inspector::Report image(const std::vector<inspector::FileEntry>& files) {
  inspector::Report r;
  r.table = {"gpt", "DISK-A", 512, 34, 65502};
  r.partitions = {{1, "esp", "C12A", "PART-1", 2048, 22527, 20480 * 512, "vfat", "ESP", "1234-ABCD", 0},
                  {2, "rootfs", "4F68", "PART-2", 22528, 63487, 40960ULL * 512, "ext4", "root", "uuid-a", 20971520}};
  r.root_partition = 2;
  r.files = files;
  return r;
}

const std::vector<inspector::FileEntry> kFiles = {
    {2, "/", "directory", 0755, 0, 0, 0, "", ""},
    {2, "/etc/random", "regular", 0644, 0, 0, 16, kHashA, ""},
    {2, "/etc/os-release", "symlink", 0777, 0, 0, 21, "", "../usr/lib/os-release"}};

TEST(ReproducibilityOutputs, SameOutputsGiveNoDifference) {
  const OutputSet set = {{"a.raw", {kHashA, 10}}, {"SHA256SUMS", {kHashB, 80}}};
  EXPECT_TRUE(diff_outputs(set, set).empty());
}

TEST(ReproducibilityOutputs, EachDifferingOutputIsNamedOnceWithHowItDiffers) {
  const OutputSet first = {{"a.raw", {kHashA, 10}}, {"b.spdx.json", {kHashA, 5}}, {"c.lock.json", {kHashA, 3}},
                           {"old.txt", {kHashA, 1}}, {"SHA256SUMS", {kHashA, 80}}};
  const OutputSet second = {{"a.raw", {kHashB, 10}}, {"b.spdx.json", {kHashA, 6}}, {"c.lock.json", {kHashA, 3}},
                            {"new.txt", {kHashA, 1}}, {"SHA256SUMS", {kHashB, 80}}};
  const std::vector<OutputDifference> d = diff_outputs(first, second);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].name, "SHA256SUMS");
  EXPECT_EQ(d[0].kind, OutputDifferenceKind::kContent);
  EXPECT_EQ(d[1].name, "a.raw");
  EXPECT_EQ(d[1].kind, OutputDifferenceKind::kContent);
  EXPECT_EQ(d[2].name, "b.spdx.json");  // a size alone is a difference
  EXPECT_EQ(d[2].kind, OutputDifferenceKind::kContent);
  EXPECT_EQ(d[3].name, "new.txt");
  EXPECT_EQ(d[3].kind, OutputDifferenceKind::kOnlySecond);
  EXPECT_EQ(d[4].name, "old.txt");
  EXPECT_EQ(d[4].kind, OutputDifferenceKind::kOnlyFirst);
}

std::string sums_line(const std::string& name) { return std::string(kAbc) + "  " + name + "\n"; }

// Beside the build's files: its record, its signature, and an earlier
// build's artifact of the same image (a .vhd it no longer asks for).
TEST(ReproducibilityOutputs, Sha256sumsAndTheFilesItListsAreHashedAndNothingElse) {
  const TempDir dir;
  write(dir.path() / "img.raw", "abc");
  write(dir.path() / "SHA256SUMS", sums_line("img.raw"));
  write(dir.path() / ".build-record.json", "{}");
  write(dir.path() / "SHA256SUMS.asc", "sig");
  write(dir.path() / "img.vhd", "old");
  const OutputSet set = hash_outputs(dir.path());
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.at("img.raw").sha256, kAbc);
  EXPECT_EQ(set.at("img.raw").size, 3u);
  EXPECT_EQ(set.at("SHA256SUMS").size, sums_line("img.raw").size());
}

TEST(ReproducibilityOutputs, AMissingSha256sumsOrAPathInItIsRefusedByName) {
  const TempDir dir;
  write(dir.path() / "img.raw", "abc");
  EXPECT_THROW(hash_outputs(dir.path()), base::Error);
  for (const std::string& bad : {sums_line("../img.raw"), sums_line(""), std::string("abc  img.raw\n")}) {
    write(dir.path() / "SHA256SUMS", bad);
    try {
      hash_outputs(dir.path());
      FAIL() << "read: " << bad;
    } catch (const base::Error& e) {
      EXPECT_NE(std::string(e.what()).find("is not a line of a hash and a file name"), std::string::npos) << e.what();
    }
  }
}

TEST(ReproducibilityOutputs, ALinkOrADirectoryAmongTheOutputsIsRefusedByName) {
  const TempDir dir;
  write(dir.path() / "img.raw", "abc");
  write(dir.path() / "SHA256SUMS", sums_line("img.raw") + sums_line("link.raw"));
  fs::create_symlink("img.raw", dir.path() / "link.raw");
  try {
    hash_outputs(dir.path());
    FAIL() << "a link was hashed";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("link.raw"), std::string::npos) << e.what();
  }
  fs::remove(dir.path() / "link.raw");
  write(dir.path() / "SHA256SUMS", sums_line("img.raw") + sums_line("sub"));
  fs::create_directory(dir.path() / "sub");
  try {
    hash_outputs(dir.path());
    FAIL() << "a directory was hashed";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sub': not a regular file"), std::string::npos) << e.what();
  }
}

TEST(ReproducibilityOutputs, OnlyRawAndQcow2OutputsAreInspectedAsDisks) {
  EXPECT_TRUE(is_disk_image("img-1.0.raw"));
  EXPECT_TRUE(is_disk_image("img-1.0.qcow2"));
  EXPECT_FALSE(is_disk_image("img-1.0.raw.xz"));
  EXPECT_FALSE(is_disk_image("img-1.0.spdx.json"));
  EXPECT_FALSE(is_disk_image("SHA256SUMS"));
}

TEST(ReproducibilityOutputs, ACompressedRawImageGetsAHintAndNothingElseDoes) {
  for (const char* name : {"img-1.0.raw.gz", "img-1.0.raw.xz", "img-1.0.raw.zst", "img-1.0.raw.bz2"}) {
    const auto hint = compressed_image_hint(name);
    ASSERT_TRUE(hint.has_value()) << name;
    EXPECT_NE(hint->find("decompress both copies and run compare"), std::string::npos) << *hint;
  }
  for (const char* name : {"img-1.0.raw", "img-1.0.qcow2", "img-1.0.img", "img-1.0.spdx.json.gz", "img.tar.xz"}) {
    EXPECT_FALSE(compressed_image_hint(name).has_value()) << name;
  }
}

TEST(ReproducibilityText, ChangedLinesAreShownInPlaceWithMissingOnesAsNone) {
  EXPECT_TRUE(text_differences("a\nb\n", "a\nb\n").empty());
  EXPECT_EQ(text_differences("{\n  \"created\": \"2020\"\n}\n", "{\n  \"created\": \"2026\"\n}\n"),
            std::vector<std::string>{"line 2: -   \"created\": \"2020\" / +   \"created\": \"2026\""});
  EXPECT_EQ(text_differences("a\nb", "a\nb\nc\n"), std::vector<std::string>{"line 3: - (none) / + c"});
  EXPECT_EQ(text_differences("a\n\x1b[2J\n", "a\nb\n"), std::vector<std::string>{"line 2: - \\x1b[2J / + b"});
}

TEST(ReproducibilityText, ManyChangedLinesAreCountedAndLongOnesCut) {
  std::string a, b;
  for (int i = 0; i < 8; ++i) {
    a += "x" + std::to_string(i) + "\n";
    b += "y" + std::to_string(i) + "\n";
  }
  const std::vector<std::string> lines = text_differences(a, b, 5);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "line 1: - x0 / + y0");
  EXPECT_EQ(lines[5], "... and 3 more lines differ");
  const std::vector<std::string> cut = text_differences(std::string(200, 'a'), std::string(200, 'b'));
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0], "line 1: - " + std::string(160, 'a') + ".. / + " + std::string(160, 'b') + "..");
  EXPECT_TRUE(is_text_output("img-1.0.spdx.json"));
  EXPECT_TRUE(is_text_output("img-1.0.template.yml"));
  EXPECT_FALSE(is_text_output("SHA256SUMS"));
  EXPECT_FALSE(is_text_output("img-1.0.raw"));
}

TEST(ReproducibilityImage, AFileThatDiffersIsNamedWithWhy) {
  std::vector<inspector::FileEntry> changed = kFiles;
  changed[1].sha256 = kHashB;
  changed[1].size = 17;
  changed[2].link_target = "/usr/lib/os-release";
  const std::vector<std::string> lines = explain_image_changes(diff_reports(image(kFiles), image(changed)));
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "files (partition 2 rootfs): /etc/os-release: link target ../usr/lib/os-release -> "
                      "/usr/lib/os-release");
  EXPECT_EQ(lines[1], "files (partition 2 rootfs): /etc/random: size 16 -> 17, content (sha256 aaaaaaaaaaaa.. -> "
                      "bbbbbbbbbbbb..)");
}

TEST(ReproducibilityImage, ModeOwnerAndAFileInOneBuildOnlyAreTold) {
  std::vector<inspector::FileEntry> changed = kFiles;
  changed[1].mode = 0600;
  changed[1].uid = 1000;
  changed.erase(changed.begin() + 2);
  changed.push_back({2, "/var/log/new.log", "regular", 0644, 0, 0, 0, kHashA, ""});
  const std::vector<std::string> lines = explain_image_changes(diff_reports(image(kFiles), image(changed)));
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "files (partition 2 rootfs): /etc/os-release: only in the first build");
  EXPECT_EQ(lines[1], "files (partition 2 rootfs): /etc/random: mode 0644 -> 0600, owner 0:0 -> 1000:0");
  EXPECT_EQ(lines[2], "files (partition 2 rootfs): /var/log/new.log: only in the second build");
}

TEST(ReproducibilityImage, SameFilesMeanTheDifferenceIsInMetadataOrLayoutOfTheNamedPartition) {
  const inspector::Report a = image(kFiles);
  inspector::Report b = image(kFiles);
  b.partitions[1].fs_uuid = "uuid-b";
  std::vector<Change> changes = diff_reports(a, b);
  for (Change& c : diff_partition_bytes(a, {{1, kHashA}, {2, kHashA}}, b, {{1, kHashA}, {2, kHashB}})) {
    changes.push_back(std::move(c));
  }
  const std::vector<std::string> lines = explain_image_changes(changes);
  ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
  // A derived identifier that changed is a difference for a rebuild, volatile or not.
  EXPECT_NE(lines[0].find("uuid-a -> uuid-b"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "every file matches: the difference is in file-system metadata or layout (bytes differ in "
                      "partition rootfs (4F68))");
}

TEST(ReproducibilityImage, NoChangeFoundStillSaysWhereTheDifferenceCanBe) {
  EXPECT_EQ(explain_image_changes({}),
            std::vector<std::string>{"every file matches: the difference is in file-system metadata or layout"});
}

TEST(ReproducibilityReportText, AReproducibleBuildIsOneLine) {
  const ReproducibilityReport report{.first_dir = "/w/out", .second_dir = "/w/kept", .outputs = 5, .differences = {}};
  std::ostringstream out;
  print_report_text(out, report);
  EXPECT_EQ(out.str(), "The build is reproducible: a second build from the same template and lockfile gave the same "
                       "5 outputs (SHA-256) as the first, in /w/out\n");
  EXPECT_EQ(report_json(report).at("reproducible"), true);
}

TEST(ReproducibilityReportText, EachDifferingOutputAndItsDetailsAreListedWithWhereTheSecondIsKept) {
  const ReproducibilityReport report{
      .first_dir = "/w/out",
      .second_dir = "/w/kept",
      .outputs = 5,
      .differences = {{"img.raw", OutputDifferenceKind::kContent, {"files (partition 2 rootfs): /etc/x: content"}},
                      {"img.spdx.json", OutputDifferenceKind::kOnlyFirst, {}}}};
  std::ostringstream out;
  print_report_text(out, report);
  EXPECT_EQ(out.str(),
            "The build is not reproducible: 2 of the outputs differ between the first build (/w/out) and the second "
            "(kept in /w/kept):\n"
            "  img.raw: content differs\n"
            "    files (partition 2 rootfs): /etc/x: content\n"
            "  img.spdx.json: only the first build made it\n");
  const nlohmann::json json = report_json(report);
  EXPECT_EQ(json.at("event"), "reproducibility-check");
  EXPECT_EQ(json.at("reproducible"), false);
  EXPECT_EQ(json.at("second"), "/w/kept");
  ASSERT_EQ(json.at("differences").size(), 2u);
  EXPECT_EQ(json.at("differences")[0].at("output"), "img.raw");
  EXPECT_EQ(json.at("differences")[0].at("details")[0], "files (partition 2 rootfs): /etc/x: content");
  EXPECT_EQ(json.at("differences")[1].at("kind"), "only-first");
}

}  // namespace
}  // namespace supervisor::cli
