// One error type for the whole project. Errors are exceptions with context;
// functions that callers expect to fail return std::optional instead.
//
//   require(cond, ...)         the input or the caller is wrong  (kInvalidInput)
//   check(cond, ...)           a bug in this code               (kFailed)
//   check_syscall(rc, op, obj) a system call failed; adds errno  (kFailed)
//   ErrorContext ctx{"installing", name};  adds a context line to any Error
//                                          thrown while ctx is alive.
//
#pragma once

#include <cerrno>
#include <cstring>
#include <exception>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace base {

// How the receiver should react, not what went wrong (as in Cap'n Proto).
enum class ErrorKind {
  kFailed,            // report, never retry
  kInvalidInput,      // bad template, metadata, request: report, exit 2 at the CLI
  kOverloaded,        // retry later (network 5xx, EAGAIN)
  kDisconnected,      // the peer died or closed the socket
  kUnimplemented,     // feature not available here: fall back or report
  kSandboxViolation,  // SIGSYS or a denied operation: a bug or a compromise
};

std::string_view to_string(ErrorKind kind) noexcept;

class Error : public std::exception {
 public:
  Error(ErrorKind kind, std::string message,
        std::source_location where = std::source_location::current());

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }
  // Context lines, innermost first.
  const std::vector<std::string>& context() const noexcept { return context_; }
  const std::string& hint() const noexcept { return hint_; }
  int errno_value() const noexcept { return errno_; }
  const std::string& stage() const noexcept { return stage_; }
  const std::source_location& where() const noexcept { return where_; }
  // Key/value facts for machines (e.g. "where" of a remote error); not in what().
  const std::vector<std::pair<std::string, std::string>>& details() const noexcept { return details_; }

  Error& with_hint(std::string hint) & { hint_ = std::move(hint); refresh(); return *this; }
  Error&& with_hint(std::string hint) && { hint_ = std::move(hint); refresh(); return std::move(*this); }
  Error& with_errno(int e) & { errno_ = e; refresh(); return *this; }
  Error&& with_errno(int e) && { errno_ = e; refresh(); return std::move(*this); }
  Error& with_stage(std::string stage) & { stage_ = std::move(stage); refresh(); return *this; }
  Error& add_context(std::string line) & { context_.push_back(std::move(line)); refresh(); return *this; }
  // Context lines from deeper down (another process), innermost first; they go
  // before the lines this Error already has.
  Error& add_inner_context(std::vector<std::string> lines) &;
  Error& with_detail(std::string key, std::string value) & {
    details_.emplace_back(std::move(key), std::move(value));
    return *this;
  }

  // "message" followed by one "  while ..." line per context entry and a
  // "Hint: ..." line when a hint is known.
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  void refresh();

  ErrorKind kind_;
  std::string message_;
  std::vector<std::string> context_;
  std::string hint_;
  int errno_ = 0;
  std::string stage_;
  std::vector<std::pair<std::string, std::string>> details_;
  std::source_location where_;
  std::string what_;
};

// Adds one context line to every Error constructed on this thread while it
// lives (like KJ_CONTEXT). Text is built eagerly but is cheap.
class ErrorContext {
 public:
  template <typename... Parts>
  explicit ErrorContext(const Parts&... parts) {
    std::string line;
    (line.append(std::string_view(parts)).append(" "), ...);
    if (!line.empty()) line.pop_back();
    push(std::move(line));
  }
  ~ErrorContext();
  ErrorContext(const ErrorContext&) = delete;
  ErrorContext& operator=(const ErrorContext&) = delete;

 private:
  static void push(std::string line);
};

[[noreturn]] inline void fail(ErrorKind kind, std::string message,
                              std::source_location where = std::source_location::current()) {
  throw Error(kind, std::move(message), where);
}

inline void require(bool cond, std::string_view message,
                    std::source_location where = std::source_location::current()) {
  if (!cond) throw Error(ErrorKind::kInvalidInput, std::string(message), where);
}

inline void check(bool cond, std::string_view message,
                  std::source_location where = std::source_location::current()) {
  if (!cond) throw Error(ErrorKind::kFailed, std::string(message), where);
}

// Throws "Failed to <op> '<object>': <strerror>" when rc < 0; returns rc.
template <typename T>
T check_syscall(T rc, std::string_view op, std::string_view object = {},
                std::source_location where = std::source_location::current()) {
  if (rc < 0) {
    const int e = errno;
    std::string msg = "Failed to ";
    msg.append(op);
    if (!object.empty()) msg.append(" '").append(object).append("'");
    msg.append(": ").append(std::strerror(e));
    throw Error(ErrorKind::kFailed, std::move(msg), where).with_errno(e);
  }
  return rc;
}

}  // namespace base
