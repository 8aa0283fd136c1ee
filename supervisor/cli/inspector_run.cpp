#include "supervisor/cli/inspector_run.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/error.hpp"
#include "stages/inspector/client.hpp"
#include "supervisor/build/build_steps.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/stage/stage_table.hpp"
#include "supervisor/terminal_text.hpp"

namespace supervisor::cli {

namespace fs = std::filesystem;
namespace inspector = stage::inspector;

base::UniqueFd open_image(const fs::path& image) {
  base::UniqueFd fd(::open(image.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) base::check_syscall(-1, "open the image", image.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat the image", image.string());
  if (!S_ISREG(st.st_mode)) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to inspect '" + image.string() + "': it is not a regular file");
  }
  return fd;
}

namespace {

StageJob inspector_job(const fs::path& image, base::UniqueFd& fd, const InspectorAsk& ask, std::string name,
                       inspector::Report& report) {
  return StageJob{
      .name = std::move(name),
      .kind = ipc::proto::StageKind::INSPECTOR,
      .after = {},
      .prepare =
          [&fd, &ask, image] {
            PreparedRequest p;
            // Like a key's, the image's bytes are never copied by --keep-requests: its path is kept.
            p.fds.push_back(std::move(fd));
            p.fd_paths.push_back(image);
            p.fd_flags.push_back(O_RDONLY);
            p.fd_secret.resize(p.fds.size(), false);
            p.fd_secret.back() = true;
            inspector::client::encode(
                {ipc::FdReference::of_slot(0), image.filename().string(), ask.extract_sbom, ask.list_files},
                p.init_request().initInspector());
            return p;
          },
      .on_success =
          [&report](const StageOutcome& outcome) {
            report = inspector::client::decode_report(outcome.result_reader().getInspector());
          },
      .timeout = stage_info(ipc::proto::StageKind::INSPECTOR).default_timeout};
}

}  // namespace

std::vector<inspector::Report> run_inspectors(const Invocation& inv, const std::vector<fs::path>& images,
                                              const InspectorAsk& ask) {
  std::vector<base::UniqueFd> fds;
  for (const fs::path& image : images) fds.push_back(open_image(image));
  std::vector<inspector::Report> reports(images.size());
  ProgressReporter progress(choose_progress_mode(false, stderr), stderr);
  Orchestrator run(orchestrator_options(inv.global, std::nullopt), progress);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string name = images.size() == 1 ? "inspect" : "inspect " + std::string(1, static_cast<char>('A' + i));
    run.add(inspector_job(images[i], fds[i], ask, name, reports[i]));
  }
  run.run();
  return reports;
}

inspector::Report run_inspector(const Invocation& inv, const fs::path& image, const InspectorAsk& ask) {
  return std::move(run_inspectors(inv, {image}, ask).front());
}

std::string shown(const std::string& text) {
  std::string out;
  for (char c : printable(text)) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out;
}

}  // namespace supervisor::cli
