#include "base/error.hpp"

#include <iterator>

namespace base {
namespace {
thread_local std::vector<std::string> context_stack;
}  // namespace

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kFailed: return "failed";
    case ErrorKind::kInvalidInput: return "invalid-input";
    case ErrorKind::kOverloaded: return "overloaded";
    case ErrorKind::kDisconnected: return "disconnected";
    case ErrorKind::kUnimplemented: return "unimplemented";
    case ErrorKind::kSandboxViolation: return "sandbox-violation";
  }
  return "failed";
}

Error::Error(ErrorKind kind, std::string message, std::source_location where)
    : kind_(kind), message_(std::move(message)), where_(where) {
  // Innermost context first: the stack grows outward-in, so walk it backwards.
  for (auto it = context_stack.rbegin(); it != context_stack.rend(); ++it) context_.push_back(*it);
  refresh();
}

void Error::refresh() {
  what_.clear();
  if (!stage_.empty()) what_.append("stage '").append(stage_).append("': ");
  what_.append(message_);
  for (const auto& line : context_) what_.append("\n  while ").append(line);
  if (!hint_.empty()) what_.append("\nHint: ").append(hint_);
}

Error& Error::add_inner_context(std::vector<std::string> lines) & {
  lines.insert(lines.end(), std::make_move_iterator(context_.begin()),
               std::make_move_iterator(context_.end()));
  context_ = std::move(lines);
  refresh();
  return *this;
}

ErrorContext::~ErrorContext() { context_stack.pop_back(); }

void ErrorContext::push(std::string line) { context_stack.push_back(std::move(line)); }

}  // namespace base
