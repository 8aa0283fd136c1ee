#include "stages/inspector/debugfs_batch.hpp"

#include "base/error.hpp"
#include "stages/inspector/program.hpp"

namespace stage::inspector {
namespace {

std::string echo_of(const DebugfsRequest& request) { return "debugfs: " + request.command + "\n"; }

[[noreturn]] void fail_at(const DebugfsRequest& request, const std::string& where, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput,
             "Failed to read " + where + " with debugfs (" + request.command + "): " + why);
}

// Where the output of the request before `next` ends: at `next`'s echo,
// which starts a line (or is all there is).
std::size_t end_before(const std::string& text, std::size_t from, const DebugfsRequest& next, const std::string& where) {
  const std::string echo = echo_of(next);
  if (text.compare(from, echo.size(), echo) == 0) return from;
  const std::size_t at = text.find("\n" + echo, from);
  if (at == std::string::npos) fail_at(next, where, "its output is missing");
  return at + 1;
}

}  // namespace

DebugfsBatchOutput split_debugfs_output(std::string text, const std::vector<DebugfsRequest>& requests,
                                        const std::string& where) {
  std::vector<std::pair<std::size_t, std::size_t>> parts;
  std::size_t at = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::string echo = echo_of(requests[i]);
    if (text.compare(at, echo.size(), echo) != 0) fail_at(requests[i], where, "its output is missing or garbled");
    at += echo.size();
    std::size_t end = text.size();
    if (requests[i].exact_bytes) {
      if (text.size() - at < *requests[i].exact_bytes) {
        fail_at(requests[i], where, "it printed less than its " + std::to_string(*requests[i].exact_bytes) + " bytes");
      }
      end = at + static_cast<std::size_t>(*requests[i].exact_bytes);
    } else if (i + 1 < requests.size()) {
      end = end_before(text, at, requests[i + 1], where);
    }
    parts.emplace_back(at, end - at);
    at = end;
  }
  if (at != text.size()) fail_at(requests.back(), where, "it printed more than expected");
  return DebugfsBatchOutput(std::move(text), std::move(parts));
}

DebugfsBatchOutput run_debugfs_batch(int image_fd, std::uint64_t offset, const std::vector<DebugfsRequest>& requests,
                                     std::size_t max_out, const std::string& where) {
  if (requests.empty()) return DebugfsBatchOutput({}, {});
  std::string input;
  for (const DebugfsRequest& request : requests) input += request.command + "\n";
  base::ChildOutcome run =
      run_program({find_program("debugfs", "e2fsprogs").string(), "-f", "-", image_at(offset)}, image_fd, max_out,
                  std::move(input));
  if (!run.ok()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + where + " with debugfs (" +
                                                   std::to_string(requests.size()) + " requests from '" +
                                                   requests.front().command + "'): " + failure_text(run));
  }
  if (run.err.find("Bad magic number") != std::string::npos || run.err.find("Couldn't find valid") != std::string::npos) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to open the file system of " + where + ": " + run.err);
  }
  return split_debugfs_output(std::move(run.out), requests, where);
}

}  // namespace stage::inspector
