#include "config/issues.hpp"

#include "base/error.hpp"

namespace config {

std::string format_issue(const Issue& issue) {
  std::string out = issue.mark.file;
  if (issue.mark.line > 0)
    out += ":" + std::to_string(issue.mark.line) + ":" + std::to_string(issue.mark.column);
  out += ": ";
  if (!issue.path.empty()) out += issue.path + ": ";
  out += issue.message;
  return out;
}

Mark find_mark(const Marks& marks, std::string path, const std::string& fallback_file) {
  while (!path.empty()) {
    if (auto it = marks.find(path); it != marks.end()) return it->second;
    const auto cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  return Mark{fallback_file, 0, 0};
}

void Issues::add(const std::string& path, std::string message) {
  list_.push_back(Issue{find_mark(marks_, path, file_), path, std::move(message)});
}

void Issues::add_at(Mark mark, std::string path, std::string message) {
  list_.push_back(Issue{std::move(mark), std::move(path), std::move(message)});
}

void Issues::append(const std::vector<Issue>& more) {
  list_.insert(list_.end(), more.begin(), more.end());
}

void Issues::throw_if_any(std::string_view what) const {
  if (list_.empty()) return;
  std::string message = std::string(what) + " '" + file_ + "': " + std::to_string(list_.size()) +
                        (list_.size() == 1 ? " problem" : " problems");
  for (const Issue& issue : list_) message += "\n" + format_issue(issue);
  throw base::Error(base::ErrorKind::kInvalidInput, std::move(message));
}

}  // namespace config
