#include "supervisor/log.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "base/error.hpp"
#include "supervisor/terminal_text.hpp"

namespace supervisor {
namespace {

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

Logger::Logger(LogLevel level, std::FILE* err) : level_(level), err_(err) {}

void Logger::set_level(LogLevel level) {
  std::lock_guard lock(mutex_);
  level_ = level;
}

LogLevel Logger::level() const {
  std::lock_guard lock(mutex_);
  return level_;
}

bool Logger::enabled(LogLevel level) const { return level >= this->level(); }

void Logger::tee_to(const std::filesystem::path& path) {
  std::lock_guard lock(mutex_);
  file_.close();
  file_.clear();
  file_.open(path, std::ios::out | std::ios::trunc);
  if (!file_) {
    const int e = errno;
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to open log file '" + path.string() + "': " + std::strerror(e))
        .with_errno(e);
  }
}

void Logger::log(LogLevel level, std::string_view message) {
  std::lock_guard lock(mutex_);
  if (level < level_) return;
  std::string line(to_string(level));
  line.append(": ").append(printable(message)).append("\n");
  std::fwrite(line.data(), 1, line.size(), err_);
  std::fflush(err_);
  if (file_.is_open()) {
    file_ << utc_timestamp() << ' ' << line;
    file_.flush();
  }
}

}  // namespace supervisor
