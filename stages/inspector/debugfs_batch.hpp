// Many debugfs requests in one process: `debugfs -f -` reads them from its
// stdin and echoes each as "debugfs: REQUEST" before its output, so a walk
// of a whole file system is a few processes rather than one per file. The
// output is split at those echoes: a request whose output length is known
// (`cat` of a file of known size) takes exactly that many bytes, any other
// runs to the next request's echo. The file system is untrusted: an echo
// missing where it must be is an error naming the request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stage::inspector {

struct DebugfsRequest {
  std::string command;                     // "ls -p <2>", "cat <12>"
  std::optional<std::uint64_t> exact_bytes;  // its output's length, when known
};

// debugfs's whole stdout and where each request's output lies in it.
class DebugfsBatchOutput {
 public:
  DebugfsBatchOutput(std::string text, std::vector<std::pair<std::size_t, std::size_t>> parts)
      : text_(std::move(text)), parts_(std::move(parts)) {}
  std::size_t size() const { return parts_.size(); }
  std::string_view operator[](std::size_t i) const {
    return std::string_view(text_).substr(parts_[i].first, parts_[i].second);
  }

 private:
  std::string text_;
  std::vector<std::pair<std::size_t, std::size_t>> parts_;  // offset, length
};

// Splits `text`, debugfs's stdout for `requests`; `where` names the file
// system in errors.
DebugfsBatchOutput split_debugfs_output(std::string text, const std::vector<DebugfsRequest>& requests,
                                        const std::string& where);

// Runs `requests` on the file system at byte `offset` of the image (fd 3
// of debugfs); more than `max_out` bytes of output is an error.
DebugfsBatchOutput run_debugfs_batch(int image_fd, std::uint64_t offset, const std::vector<DebugfsRequest>& requests,
                                     std::size_t max_out, const std::string& where);

}  // namespace stage::inspector
