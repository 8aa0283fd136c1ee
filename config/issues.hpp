// A list of problems found in one template, each pointing at file:line:column
// and a key path, reported together as one kInvalidInput error.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/template.hpp"

namespace config {

struct Issue {
  Mark mark;         // line 0 when the position is unknown
  std::string path;  // "disk.partitions[1].end"
  std::string message;
};

// "<file>:<line>:<col>: <path>: <message>", or "<file>: <path>: <message>".
std::string format_issue(const Issue& issue);

class Issues {
 public:
  // `marks` locates a key path; `file` is used when a path has no mark.
  Issues(const Marks& marks, std::string file) : marks_(marks), file_(std::move(file)) {}

  // Records a problem at `path`, positioned at that key or its nearest parent.
  void add(const std::string& path, std::string message);
  void add_at(Mark mark, std::string path, std::string message);
  void append(const std::vector<Issue>& more);

  bool empty() const { return list_.empty(); }
  const std::vector<Issue>& list() const { return list_; }

  // Throws one base::Error(kInvalidInput): a header line, then one line per issue.
  void throw_if_any(std::string_view what) const;

 private:
  const Marks& marks_;
  std::string file_;
  std::vector<Issue> list_;
};

// The mark of `path` or of its nearest ancestor that has one.
Mark find_mark(const Marks& marks, std::string path, const std::string& fallback_file);

}  // namespace config
