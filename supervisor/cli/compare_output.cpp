#include "supervisor/cli/compare_output.hpp"

#include "supervisor/cli/inspector_run.hpp"

namespace supervisor::cli {
namespace {

using nlohmann::json;

std::string field_text(const FieldChange& f, const std::string& kind) {
  const auto value = [](const std::string& v) { return v.empty() ? std::string("(none)") : shown(v); };
  if (kind == "added") return f.to.empty() ? "" : f.field + " " + value(f.to);
  if (kind == "removed") return f.from.empty() ? "" : f.field + " " + value(f.from);
  return f.field + " " + value(f.from) + " -> " + value(f.to);
}

// A boot configuration's changed lines, one per line: "- old", "+ new".
std::string line_changes(const Change& c) {
  std::string out;
  for (const FieldChange& f : c.fields) {
    if (f.field != "line") continue;
    if (!f.from.empty()) out += "      - " + shown(f.from) + "\n";
    if (!f.to.empty()) out += "      + " + shown(f.to) + "\n";
  }
  return out;
}

void print_change(std::ostream& out, const Change& c) {
  const char mark = c.kind == "added" ? '+' : c.kind == "removed" ? '-' : '~';
  std::string fields;
  for (const FieldChange& f : c.fields) {
    const std::string text = f.field == "line" ? "" : field_text(f, c.kind);
    if (!text.empty()) fields += (fields.empty() ? "" : ", ") + text;
  }
  out << "  " << mark << " " << shown(c.item) << (fields.empty() ? "" : "  " + fields)
      << (c.volatile_only ? "  (volatile)" : "") << "\n"
      << line_changes(c);
}

json side_json(const ComparedImage& side, bool full) {
  json out = {{"image", side.path.string()}, {"sizeBytes", side.size},
              {"sha256", side.sha256 ? json(*side.sha256) : json(nullptr)}};
  if (full && side.report) {
    out["partitions"] = side.report->partitions.size();
    out["packages"] = side.report->packages.size();
    out["files"] = side.report->files.size();
    out["sbom"] = side.report->sbom_path.empty() ? json(nullptr) : json(side.report->sbom_path);
  }
  return out;
}

json change_json(const Change& c) {
  json fields = json::array();
  for (const FieldChange& f : c.fields) fields.push_back({{"field", f.field}, {"from", f.from}, {"to", f.to}});
  return {{"section", c.section}, {"item", c.item}, {"change", c.kind}, {"volatile", c.volatile_only},
          {"fields", fields}};
}

}  // namespace

void print_compare_text(std::ostream& out, const std::string& mode, const ComparedImage& a, const ComparedImage& b, const std::vector<Change>& changes,
                Equality equality) {
  int meaningful = 0;
  for (const Change& c : changes) meaningful += c.volatile_only ? 0 : 1;
  out << "Comparing " << shown(a.path.string()) << " and " << shown(b.path.string()) << "\n";
  out << "Equality: " << equality_name(equality) << " (" << meaningful << " meaningful differences, "
      << changes.size() - static_cast<std::size_t>(meaningful) << " volatile)\n";
  if (mode == "full") {
    for (const ComparedImage* side : {&a, &b}) {
      out << "  " << shown(side->path.string()) << ": " << side->size << " bytes"
          << (side->sha256 ? ", sha256 " + *side->sha256 : "")
          << (side->report ? ", " + std::to_string(side->report->packages.size()) + " packages, " +
                                 std::to_string(side->report->files.size()) + " files"
                           : "")
          << "\n";
    }
  }
  if (mode == "summary") {
    for (const auto& [section, n] : count_by_section(changes)) {
      out << shown(section) << ": " << n.added << " added, " << n.removed << " removed, " << n.changed << " changed\n";
    }
    return;
  }
  std::string section;
  for (const Change& c : changes) {
    if (c.section != section) out << (section = c.section) << ":\n";
    print_change(out, c);
  }
}

json compare_json(const std::string& mode, const ComparedImage& a, const ComparedImage& b, const std::vector<Change>& changes,
                  Equality equality) {
  int meaningful = 0;
  for (const Change& c : changes) meaningful += c.volatile_only ? 0 : 1;
  json summary = json::object();
  for (const auto& [section, n] : count_by_section(changes)) {
    summary[section] = {{"added", n.added}, {"removed", n.removed}, {"changed", n.changed}};
  }
  json out = {{"mode", mode},
              {"from", side_json(a, mode == "full")},
              {"to", side_json(b, mode == "full")},
              {"equality", {{"class", equality_name(equality)}, {"meaningfulDiffs", meaningful},
                            {"volatileDiffs", static_cast<int>(changes.size()) - meaningful}}},
              {"summary", summary}};
  if (mode != "summary") {
    out["diff"] = json::array();
    for (const Change& c : changes) out["diff"].push_back(change_json(c));
  }
  return out;
}

}  // namespace supervisor::cli
