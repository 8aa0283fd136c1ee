// `compare A B [--mode diff|summary|full|spdx] [--format text|json]
// [--hash-images]`: how two raw or qcow2 disk images differ (a qcow2 one is
// compared as its raw disk, made in the sandbox: inspector_run.hpp). Each image is read by
// stage-inspector in its sandbox (inspector_run.hpp), with every file of its
// ext2/3/4 and FAT partitions hashed; image_diff.hpp diffs the two reports
// and names the class of equality. --mode spdx compares the package sets of
// two SPDX documents, given as files or embedded in the two images. Exit 0
// when the images are identical (binary or semantically), 1 when they
// differ, 2 on bad input or when either cannot be read, so that 1 always
// means "different".
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/cli/compare_output.hpp"
#include "supervisor/cli/image_diff.hpp"
#include "supervisor/cli/inspector_run.hpp"
#include "supervisor/cli/spdx_packages.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;
namespace inspector = stage::inspector;
using nlohmann::json;

constexpr std::size_t kMaxSpdxBytes = 64 << 20;

void add_compare_options(po::options_description& options) {
  options.add_options()("mode", po::value<std::string>()->value_name("diff|summary|full|spdx"),
                        "what is printed: the differences (default for text), counts per section, both with "
                        "the images' facts (default for json), or the SPDX package sets")(
      "format", po::value<std::string>()->default_value("text")->value_name("text|json"), "how it is printed")(
      "hash-images", po::bool_switch(),
      "hash both whole images: the same SHA-256 is binary_identical; different ones have each partition "
      "hashed to show which hold the different bytes");
}

struct Settings {
  std::string mode;
  std::string format;
  bool hash_images = false;
};

Settings settings_of(const Invocation& inv) {
  Settings s{"", inv.options["format"].as<std::string>(), inv.options["hash-images"].as<bool>()};
  if (s.format != "text" && s.format != "json") {
    base::fail(base::ErrorKind::kInvalidInput, "Unknown --format '" + s.format + "': expected text or json");
  }
  s.mode = inv.options.count("mode") ? inv.options["mode"].as<std::string>() : (s.format == "json" ? "full" : "diff");
  if (s.mode != "diff" && s.mode != "summary" && s.mode != "full" && s.mode != "spdx") {
    base::fail(base::ErrorKind::kInvalidInput, "Unknown --mode '" + s.mode + "': expected diff, summary, full or spdx");
  }
  return s;
}

// A qcow2 image's size and hashes are its raw disk's (raw_images).
ComparedImage open_side(const RawImage& raw, bool hash) {
  struct stat st {};
  base::check_syscall(::fstat(raw.fd.get(), &st), "stat the image", raw.path.string());
  ComparedImage side{raw.path, static_cast<std::uint64_t>(st.st_size), std::nullopt, std::nullopt};
  if (hash) side.sha256 = sha256_of_fd(raw.fd.get(), raw.path.string());
  return side;
}

std::string read_spdx_file(const fs::path& path) {
  const base::UniqueFd fd = open_image(path);
  std::string text;
  char buffer[1 << 16];
  for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
    base::check_syscall(static_cast<int>(n < 0 ? -1 : 0), "read the SPDX document", path.string());
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxSpdxBytes) {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to read the SPDX document '" + path.string() +
                                                     "': larger than " + std::to_string(kMaxSpdxBytes >> 20) + " MiB");
    }
  }
  return text;
}

// A *.json argument is an SPDX document; anything else an image whose embedded SBOM is read.
PackageVersions packages_of(const Invocation& inv, const fs::path& path) {
  if (path.extension() == ".json") return spdx_packages(read_spdx_file(path), "'" + path.string() + "'");
  const inspector::Report report = run_inspector(inv, path, {.extract_sbom = true});
  if (report.sbom_path.empty()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to compare the SBOM of '" + path.string() +
                                                   "': it has none in /usr/share/sbom/");
  }
  return spdx_packages(report.sbom, shown(report.sbom_path) + " in '" + path.string() + "'");
}

std::vector<Change> image_changes(const Invocation& inv, const Settings& s, const std::vector<RawImage>& raws,
                                  ComparedImage& a, ComparedImage& b) {
  // Binary identical images hold the same files: only --mode full reads them anyway.
  if (a.sha256 && a.sha256 == b.sha256 && s.mode != "full") return {};
  std::vector<inspector::Report> reports = run_inspectors(inv, raws, {.list_files = true});
  a.report = std::move(reports[0]);
  b.report = std::move(reports[1]);
  std::vector<Change> changes;
  if (a.size != b.size) {
    changes.push_back({"image", "size", "changed", {{"size", std::to_string(a.size), std::to_string(b.size)}}, false});
  }
  for (Change& c : diff_reports(*a.report, *b.report)) changes.push_back(std::move(c));
  // Different bytes: which partitions hold them.
  if (a.sha256 && b.sha256 && a.sha256 != b.sha256) {
    for (Change& c : diff_partition_bytes(*a.report, hash_partitions(*a.report, a.size, raws[0]), *b.report,
                                          hash_partitions(*b.report, b.size, raws[1]))) {
      changes.push_back(std::move(c));
    }
  }
  return changes;
}

int compare(const Invocation& inv) {
  const Settings s = settings_of(inv);
  std::vector<Change> changes;
  bool converted[2] = {false, false};
  ComparedImage a{inv.args.at(0), 0, std::nullopt, std::nullopt};
  ComparedImage b{inv.args.at(1), 0, std::nullopt, std::nullopt};
  if (s.mode == "spdx") {
    a = open_side({a.path, open_image(a.path)}, s.hash_images);
    b = open_side({b.path, open_image(b.path)}, s.hash_images);
    changes = diff_packages(packages_of(inv, a.path), packages_of(inv, b.path));
  } else {
    const std::vector<RawImage> raws = raw_images(inv, {a.path, b.path});
    a = open_side(raws[0], s.hash_images);
    b = open_side(raws[1], s.hash_images);
    changes = image_changes(inv, s, raws, a, b);
    converted[0] = raws[0].from_qcow2;
    converted[1] = raws[1].from_qcow2;
    if (converted[0] != converted[1]) {
      const auto format = [](bool qcow2) { return std::string(qcow2 ? "qcow2" : "raw"); };
      changes.push_back({"image", "format", "changed", {{"format", format(converted[0]), format(converted[1])}}, true});
    }
  }
  // A qcow2 image's hash is its raw disk's: the same disk bytes in files
  // that are not both raw are semantically identical, never binary identical.
  const bool binary = a.sha256 == b.sha256 && !converted[0] && !converted[1];
  const std::optional<bool> same_bytes = s.hash_images ? std::optional<bool>(binary) : std::nullopt;
  const Equality equality = classify(changes, s.mode == "spdx" ? std::nullopt : same_bytes);
  if (s.format == "json") {
    inv.out << compare_json(s.mode, a, b, changes, equality).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    print_compare_text(inv.out, s.mode, a, b, changes, equality);
  }
  return equality == Equality::kDifferent ? kExitFailure : kExitOk;
}

// Exit 1 means "different": an image that cannot be read or compared exits 2.
int run_compare(const Invocation& inv) {
  try {
    return compare(inv);
  } catch (const base::Error& e) {
    if (e.kind() == base::ErrorKind::kInvalidInput) throw;
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to compare '" + inv.args.at(0) + "' and '" +
                                                          inv.args.at(1) + "': " + e.what());
  } catch (const std::exception& e) {
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to compare '" + inv.args.at(0) + "' and '" +
                                                          inv.args.at(1) + "': " + e.what());
  }
}

}  // namespace

std::vector<Verb> compare_verbs() {
  return {Verb{.name = "compare", .arguments = "A B",
               .summary = "Compare two raw or qcow2 disk images (partitions, packages, files, boot setup) or their SBOMs; "
                          "exit 0 when identical, 1 when different, 2 when they cannot be compared",
               .min_args = 2, .max_args = 2, .add_options = add_compare_options, .run = run_compare}};
}

}  // namespace supervisor::cli
