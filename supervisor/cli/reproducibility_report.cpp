#include "supervisor/cli/reproducibility_report.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/cli/inspector_run.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kShownHash = 12;
constexpr std::size_t kShownLine = 160;

std::string shown_line(const std::vector<std::string>& lines, std::size_t i) {
  if (i >= lines.size()) return "(none)";
  const std::string& line = lines[i];
  return shown(line.size() > kShownLine ? line.substr(0, kShownLine) + ".." : line);
}

OutputHash hash_output(const fs::path& path) {
  const base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  base::check_syscall(fd.get() < 0 ? -1 : 0, "open the output", path.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat the output", path.string());
  if (!S_ISREG(st.st_mode)) {
    base::fail(base::ErrorKind::kFailed, "Failed to hash the output '" + path.string() + "': not a regular file");
  }
  return {sha256_of_fd(fd.get(), path.string()), static_cast<std::uint64_t>(st.st_size)};
}

bool is_file_section(const std::string& section) { return section.starts_with("files ("); }

std::string shown_value(const FieldChange& f, const std::string& value) {
  if (f.field == "sha256" && value.size() > kShownHash) return value.substr(0, kShownHash) + "..";
  return value.empty() ? "(none)" : value;
}

std::string why(const Change& c) {
  if (c.kind == "added") return "only in the second build";
  if (c.kind == "removed") return "only in the first build";
  std::string text;
  for (const FieldChange& f : c.fields) {
    if (!text.empty()) text += ", ";
    text += (f.field == "sha256" ? std::string("content (sha256 ") : f.field + " ") + shown_value(f, f.from) + " -> " +
            shown_value(f, f.to) + (f.field == "sha256" ? ")" : "");
  }
  return text.empty() ? c.kind : text;
}

std::string kind_name(OutputDifferenceKind kind) {
  switch (kind) {
    case OutputDifferenceKind::kContent: return "content";
    case OutputDifferenceKind::kOnlyFirst: return "only-first";
    case OutputDifferenceKind::kOnlySecond: return "only-second";
  }
  return "content";
}

std::string kind_text(const OutputDifference& d) {
  switch (d.kind) {
    case OutputDifferenceKind::kContent: return "content differs";
    case OutputDifferenceKind::kOnlyFirst: return "only the first build made it";
    case OutputDifferenceKind::kOnlySecond: return "only the second build made it";
  }
  return "differs";
}

}  // namespace

OutputSet hash_outputs(const fs::path& dir) {
  base::ErrorContext ctx{"hashing the outputs in", dir.string()};
  const fs::path sums = dir / kChecksumFile;
  OutputSet set;
  set.emplace(kChecksumFile, hash_output(sums));
  std::ifstream in(sums);
  std::string line;
  while (std::getline(in, line)) {
    // "<sha256>  <name>", as the publish wrote it (sha256sums_text).
    const std::string name = line.size() > 66 ? line.substr(66) : "";
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
        line.compare(64, 2, "  ") != 0) {
      base::fail(base::ErrorKind::kFailed, "Failed to read '" + sums.string() + "': '" + line +
                                               "' is not a line of a hash and a file name");
    }
    set.emplace(name, hash_output(dir / name));
  }
  return set;
}

std::vector<OutputDifference> diff_outputs(const OutputSet& first, const OutputSet& second) {
  std::map<std::string, OutputDifferenceKind> found;
  for (const auto& [name, hash] : first) {
    const auto other = second.find(name);
    if (other == second.end()) {
      found.emplace(name, OutputDifferenceKind::kOnlyFirst);
    } else if (other->second.sha256 != hash.sha256 || other->second.size != hash.size) {
      found.emplace(name, OutputDifferenceKind::kContent);
    }
  }
  for (const auto& [name, hash] : second) {
    if (!first.contains(name)) found.emplace(name, OutputDifferenceKind::kOnlySecond);
  }
  std::vector<OutputDifference> out;
  for (const auto& [name, kind] : found) out.push_back({name, kind, {}});
  return out;
}

bool is_disk_image(const std::string& name) {
  const fs::path path(name);
  return path.extension() == ".raw" || path.extension() == ".qcow2";
}

std::optional<std::string> compressed_image_hint(const std::string& name) {
  const fs::path path(name);
  const std::string ext = path.extension().string();
  if (path.stem().extension() != ".raw" || (ext != ".gz" && ext != ".xz" && ext != ".zst" && ext != ".bz2")) {
    return std::nullopt;
  }
  return "a compressed disk image is not inspected: decompress both copies and run compare on them";
}

bool is_text_output(const std::string& name) {
  const std::string ext = fs::path(name).extension().string();
  return ext == ".json" || ext == ".yml" || ext == ".yaml";
}

std::vector<std::string> text_differences(const std::string& first, const std::string& second,
                                          std::size_t max_lines) {
  const std::vector<std::string> a = lines_of(first);
  const std::vector<std::string> b = lines_of(second);
  std::vector<std::string> out;
  std::size_t more = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size() && i < b.size() && a[i] == b[i]) continue;
    if (out.size() == max_lines) {
      ++more;
      continue;
    }
    out.push_back("line " + std::to_string(i + 1) + ": - " + shown_line(a, i) + " / + " + shown_line(b, i));
  }
  if (more > 0) out.push_back("... and " + std::to_string(more) + " more lines differ");
  return out;
}

std::vector<std::string> explain_image_changes(const std::vector<Change>& changes) {
  std::vector<std::string> lines;
  std::vector<std::string> partitions;
  bool file_differs = false;
  for (const Change& c : changes) {
    if (c.section == "partition bytes") {
      partitions.push_back(c.item);
      continue;
    }
    file_differs = file_differs || is_file_section(c.section);
    lines.push_back(c.section + ": " + c.item + ": " + why(c));
  }
  if (!file_differs) {
    std::string line = "every file matches: the difference is in file-system metadata or layout";
    for (std::size_t i = 0; i < partitions.size(); ++i) {
      line += (i == 0 ? " (bytes differ in partition " : ", ") + partitions[i];
    }
    lines.push_back(line + (partitions.empty() ? "" : ")"));
  }
  return lines;
}

void print_report_text(std::ostream& out, const ReproducibilityReport& report) {
  if (report.reproducible()) {
    out << "The build is reproducible: a second build from the same template and lockfile gave the same "
        << report.outputs << " outputs (SHA-256) as the first, in " << report.first_dir.string() << "\n";
    return;
  }
  out << "The build is not reproducible: " << report.differences.size() << " of the outputs differ between the first "
      << "build (" << report.first_dir.string() << ") and the second (kept in " << report.second_dir.string() << "):\n";
  for (const OutputDifference& d : report.differences) {
    out << "  " << d.name << ": " << kind_text(d) << "\n";
    for (const std::string& line : d.details) out << "    " << line << "\n";
  }
}

nlohmann::json report_json(const ReproducibilityReport& report) {
  nlohmann::json differences = nlohmann::json::array();
  for (const OutputDifference& d : report.differences) {
    differences.push_back({{"output", d.name}, {"kind", kind_name(d.kind)}, {"details", d.details}});
  }
  return {{"event", "reproducibility-check"},
          {"reproducible", report.reproducible()},
          {"first", report.first_dir.string()},
          {"second", report.second_dir.string()},
          {"outputs", report.outputs},
          {"differences", differences}};
}

}  // namespace supervisor::cli
