// What a person (or a program) sees while a build runs: progress bars when
// stdout is a terminal, plain lines otherwise, or with --json one JSON
// object per line on stdout (docs/cli.md lists the events).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// Only the declaration: most files that include this one use no JSON, and
// the whole header adds seconds to the compilation of each.
#include <nlohmann/json_fwd.hpp>

namespace supervisor {

enum class ProgressMode { kTerminal, kPlain, kJson };

// kTerminal when `out` is a tty, else kPlain; kJson when asked.
ProgressMode choose_progress_mode(bool json, std::FILE* out);

struct StageProgress {
  std::string phase;
  std::uint64_t done = 0, total = 0;
  std::uint64_t bytes_done = 0, bytes_total = 0;
  std::uint32_t files_done = 0, files_total = 0;
  double rate = 0;
  std::string item;
};

class ProgressReporter {
 public:
  ProgressReporter(ProgressMode mode, std::FILE* out);

  void build_started(std::string_view what, std::size_t stages_planned);
  void stage_started(std::string_view job, std::string_view stage, int pid);
  void stage_progress(std::string_view job, const StageProgress& progress);
  void stage_log(std::string_view job, std::string_view level, std::string_view text);
  void stage_finished(std::string_view job, std::chrono::milliseconds elapsed, bool ok,
                      std::string_view error = {});
  void message(std::string_view level, std::string_view text);
  // Rows: job, stage, wall and CPU seconds, peak memory, status, and the
  // steps the stage reported, each on a line of its own below its job.
  // Printed as a table (or one JSON event).
  struct TimingStep {
    std::string name;
    std::chrono::milliseconds elapsed{0}, cpu{0};
  };
  struct TimingRow {
    std::string job, stage;
    std::chrono::milliseconds elapsed;
    std::chrono::milliseconds cpu{0};
    std::uint64_t peak_rss_bytes = 0;
    bool ok = false;
    std::vector<TimingStep> steps;
  };
  void timing_table(const std::vector<TimingRow>& rows);
  void build_finished(bool ok, std::string_view summary);
  void build_finished(bool ok, std::string_view summary, const nlohmann::json& details);

  ProgressMode mode() const { return mode_; }

 private:
  void emit_json(nlohmann::json event);
  void redraw();  // terminal mode: rewrites the bar block in place
  void clear_bars();

  ProgressMode mode_;
  std::FILE* out_;
  std::mutex mutex_;
  std::size_t planned_ = 0, finished_ = 0;
  std::map<std::string, StageProgress, std::less<>> active_;
  std::size_t drawn_lines_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace supervisor
