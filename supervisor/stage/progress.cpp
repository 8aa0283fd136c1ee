#include "supervisor/stage/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>

#include <nlohmann/json.hpp>
#include "supervisor/terminal_text.hpp"

namespace supervisor {
namespace {

using Clock = std::chrono::steady_clock;

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string bar(double fraction, int width) {
  if (fraction < 0) fraction = 0;
  if (fraction > 1) fraction = 1;
  const int filled = static_cast<int>(fraction * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

double fraction_of(const StageProgress& p) {
  if (p.bytes_total) return static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total);
  if (p.total) return static_cast<double>(p.done) / static_cast<double>(p.total);
  if (p.files_total) return static_cast<double>(p.files_done) / p.files_total;
  return 0;
}

std::string describe(const StageProgress& p) {
  std::string text = p.phase;
  if (p.files_total) text += " " + std::to_string(p.files_done) + "/" + std::to_string(p.files_total) + " files";
  else if (p.total) text += " " + std::to_string(p.done) + "/" + std::to_string(p.total);
  if (p.bytes_total || p.bytes_done) {
    text += " " + human_bytes(p.bytes_done);
    if (p.bytes_total) text += "/" + human_bytes(p.bytes_total);
  }
  if (p.rate > 0) text += " " + human_bytes(static_cast<std::uint64_t>(p.rate)) + "/s";
  return text;
}

}  // namespace

ProgressMode choose_progress_mode(bool json, std::FILE* out) {
  if (json) return ProgressMode::kJson;
  return ::isatty(::fileno(out)) ? ProgressMode::kTerminal : ProgressMode::kPlain;
}

ProgressReporter::ProgressReporter(ProgressMode mode, std::FILE* out) : mode_(mode), out_(out) {}

void ProgressReporter::emit_json(nlohmann::json event) {
  event["t"] = std::chrono::duration<double>(Clock::now() - started_).count();
  // Stage text may be invalid UTF-8: replaced, never a reason to throw.
  const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void ProgressReporter::clear_bars() {
  if (mode_ != ProgressMode::kTerminal || drawn_lines_ == 0) return;
  // Move up over the bar block and clear it, so log lines print above it.
  for (std::size_t i = 0; i < drawn_lines_; ++i) std::fputs("\x1b[1A\x1b[2K", out_);
  drawn_lines_ = 0;
}

void ProgressReporter::redraw() {
  if (mode_ != ProgressMode::kTerminal) return;
  clear_bars();
  const double overall = planned_ ? static_cast<double>(finished_) / static_cast<double>(planned_) : 0;
  std::fprintf(out_, "%-22s %s %zu/%zu stages\n", "build", bar(overall, 30).c_str(), finished_, planned_);
  ++drawn_lines_;
  for (const auto& [job, p] : active_) {
    std::fprintf(out_, "%-22.22s %s %s\n", job.c_str(), bar(fraction_of(p), 30).c_str(),
                 printable(describe(p)).c_str());
    ++drawn_lines_;
  }
  std::fflush(out_);
  last_draw_ = Clock::now();
}

void ProgressReporter::build_started(std::string_view what, std::size_t stages_planned) {
  std::lock_guard lock(mutex_);
  planned_ = stages_planned;
  finished_ = 0;
  if (mode_ == ProgressMode::kJson) {
    emit_json({{"event", "build-started"}, {"what", what}, {"stages", stages_planned}});
    return;
  }
  std::fprintf(out_, "%.*s\n", static_cast<int>(what.size()), what.data());
  redraw();
}

void ProgressReporter::stage_started(std::string_view job, std::string_view stage, int pid) {
  std::lock_guard lock(mutex_);
  active_[std::string(job)] = StageProgress{.phase = "starting"};
  switch (mode_) {
    case ProgressMode::kJson:
      emit_json({{"event", "stage-started"}, {"job", job}, {"stage", stage}, {"pid", pid}});
      break;
    case ProgressMode::kPlain:
      std::fprintf(out_, "[%.*s] started (%.*s, pid %d)\n", static_cast<int>(job.size()), job.data(),
                   static_cast<int>(stage.size()), stage.data(), pid);
      std::fflush(out_);
      break;
    case ProgressMode::kTerminal:
      redraw();
      break;
  }
}

void ProgressReporter::stage_progress(std::string_view job, const StageProgress& progress) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(job);
  if (it == active_.end()) return;
  const bool phase_changed = it->second.phase != progress.phase;
  it->second = progress;
  switch (mode_) {
    case ProgressMode::kJson:
      emit_json({{"event", "stage-progress"}, {"job", job}, {"phase", progress.phase},
                 {"done", progress.done}, {"total", progress.total},
                 {"bytesDone", progress.bytes_done}, {"bytesTotal", progress.bytes_total},
                 {"filesDone", progress.files_done}, {"filesTotal", progress.files_total},
                 {"rate", progress.rate}, {"item", progress.item}});
      break;
    case ProgressMode::kPlain:
      // Plain output stays readable in a CI log: phase changes only.
      if (phase_changed) {
        std::fprintf(out_, "[%.*s] %s\n", static_cast<int>(job.size()), job.data(),
                     printable(describe(progress)).c_str());
        std::fflush(out_);
      }
      break;
    case ProgressMode::kTerminal:
      if (phase_changed || Clock::now() - last_draw_ > std::chrono::milliseconds(100)) redraw();
      break;
  }
}

void ProgressReporter::stage_log(std::string_view job, std::string_view level, std::string_view text) {
  std::lock_guard lock(mutex_);
  if (mode_ == ProgressMode::kJson) {
    emit_json({{"event", "stage-log"}, {"job", job}, {"level", level}, {"text", text}});
    return;
  }
  if (level == "debug") return;
  clear_bars();
  const std::string shown = printable(text);
  std::fprintf(out_, "[%.*s] %.*s: %s\n", static_cast<int>(job.size()), job.data(),
               static_cast<int>(level.size()), level.data(), shown.c_str());
  redraw();
  std::fflush(out_);
}

void ProgressReporter::stage_finished(std::string_view job, std::chrono::milliseconds elapsed, bool ok,
                                      std::string_view error) {
  std::lock_guard lock(mutex_);
  if (auto it = active_.find(job); it != active_.end()) active_.erase(it);
  ++finished_;
  const double seconds = static_cast<double>(elapsed.count()) / 1000.0;
  switch (mode_) {
    case ProgressMode::kJson: {
      nlohmann::json event = {{"event", "stage-finished"}, {"job", job}, {"ok", ok}, {"seconds", seconds}};
      if (!ok) event["error"] = error;
      emit_json(std::move(event));
      break;
    }
    case ProgressMode::kPlain:
    case ProgressMode::kTerminal:
      clear_bars();
      std::fprintf(out_, "[%.*s] %s in %.1f s\n", static_cast<int>(job.size()), job.data(),
                   ok ? "done" : "FAILED", seconds);
      redraw();
      std::fflush(out_);
      break;
  }
}

void ProgressReporter::message(std::string_view level, std::string_view text) {
  std::lock_guard lock(mutex_);
  if (mode_ == ProgressMode::kJson) {
    emit_json({{"event", "message"}, {"level", level}, {"text", text}});
    return;
  }
  clear_bars();
  std::fprintf(out_, "%s\n", printable(text).c_str());
  redraw();
  std::fflush(out_);
}

namespace {

double seconds_of(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

double mib_of(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

nlohmann::json timing_json(const ProgressReporter::TimingRow& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) {
    steps.push_back({{"name", s.name}, {"seconds", seconds_of(s.elapsed)}, {"cpu_seconds", seconds_of(s.cpu)}});
  }
  return {{"job", r.job},
          {"stage", r.stage},
          {"seconds", seconds_of(r.elapsed)},
          {"cpu_seconds", seconds_of(r.cpu)},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"ok", r.ok},
          {"steps", std::move(steps)}};
}

}  // namespace

// CPU may exceed wall time (a stage running programs in parallel); peak
// memory is the largest single process of the stage's tree.
void ProgressReporter::timing_table(const std::vector<TimingRow>& rows) {
  std::lock_guard lock(mutex_);
  if (mode_ == ProgressMode::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : rows) list.push_back(timing_json(r));
    emit_json({{"event", "timings"}, {"stages", list}});
    return;
  }
  clear_bars();
  std::chrono::milliseconds total{0}, total_cpu{0};
  std::uint64_t peak = 0;
  std::fprintf(out_, "\n%-28s %-10s %10s %10s %9s  %s\n", "JOB", "STAGE", "SECONDS", "CPU", "PEAK-MIB", "STATUS");
  for (const auto& r : rows) {
    total += r.elapsed;
    total_cpu += r.cpu;
    peak = std::max(peak, r.peak_rss_bytes);
    std::fprintf(out_, "%-28s %-10s %10.2f %10.2f %9.1f  %s\n", r.job.c_str(), r.stage.c_str(), seconds_of(r.elapsed),
                 seconds_of(r.cpu), mib_of(r.peak_rss_bytes), r.ok ? "ok" : "failed");
    for (const auto& s : r.steps) {
      std::fprintf(out_, "  %-37s %10.2f %10.2f\n", s.name.c_str(), seconds_of(s.elapsed), seconds_of(s.cpu));
    }
  }
  std::fprintf(out_, "%-28s %-10s %10.2f %10.2f %9.1f\n", "total (stage time)", "", seconds_of(total),
               seconds_of(total_cpu), mib_of(peak));
  std::fflush(out_);
}

void ProgressReporter::build_finished(bool ok, std::string_view summary) {
  build_finished(ok, summary, nlohmann::json());
}

void ProgressReporter::build_finished(bool ok, std::string_view summary, const nlohmann::json& details) {
  std::lock_guard lock(mutex_);
  const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  if (mode_ == ProgressMode::kJson) {
    nlohmann::json event = {{"event", "build-finished"}, {"ok", ok}, {"summary", summary}, {"seconds", seconds}};
    if (!details.is_null()) event["details"] = details;
    emit_json(std::move(event));
    return;
  }
  clear_bars();
  std::fprintf(out_, "%.*s (%.1f s)\n", static_cast<int>(summary.size()), summary.data(), seconds);
  std::fflush(out_);
}

}  // namespace supervisor
