#include "stages/inspector/program.hpp"

#include <array>

namespace stage::inspector {

std::string image_at(std::uint64_t offset) { return std::string(kImagePath) + "?offset=" + std::to_string(offset); }

std::filesystem::path find_program(std::string_view program, std::string_view package) {
  static constexpr std::array<const char*, 2> kDirs = {"/usr/sbin/", "/usr/bin/"};
  return base::find_host_program(program, package, kDirs);
}

base::ChildOutcome run_program(const std::vector<std::string>& argv, int image_fd, std::size_t max_out,
                               std::optional<std::string> input) {
  base::ChildCommand command;
  command.argv = argv;
  command.input = std::move(input);
  // MTOOLS_SKIP_CHECK: mtools must not reject a partition for its geometry.
  command.env = {"PATH=/usr/sbin:/usr/bin", "LC_ALL=C", "MTOOLS_SKIP_CHECK=1"};
  command.separate_stdout = true;
  command.max_stdout = max_out;
  command.move_fds = {{image_fd, 3}};
  return base::run_child(command);
}

std::string failure_text(const base::ChildOutcome& run) {
  const std::string tail = base::last_lines(run.err, 5);
  return tail.empty() ? run.status_text() : run.status_text() + ": " + tail;
}

}  // namespace stage::inspector
