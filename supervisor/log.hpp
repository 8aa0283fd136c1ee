// The supervisor's log: plain "level: message" lines on stderr, and the same
// lines with a UTC timestamp in an optional log file that each run overwrites.
// One Logger is made in main() and passed to whoever logs; it is thread-safe.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace supervisor {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level);

class Logger {
 public:
  // Logs to `err` (stderr unless a test passes its own stream).
  explicit Logger(LogLevel level = LogLevel::kInfo, std::FILE* err = stderr);

  void set_level(LogLevel level);
  LogLevel level() const;
  bool enabled(LogLevel level) const;

  // Starts (or restarts) the copy into `path`, truncating it. Throws
  // base::Error when the file cannot be opened.
  void tee_to(const std::filesystem::path& path);

  void log(LogLevel level, std::string_view message);
  void debug(std::string_view message) { log(LogLevel::kDebug, message); }
  void info(std::string_view message) { log(LogLevel::kInfo, message); }
  void warn(std::string_view message) { log(LogLevel::kWarn, message); }
  void error(std::string_view message) { log(LogLevel::kError, message); }

 private:
  mutable std::mutex mutex_;
  LogLevel level_;
  std::FILE* err_;
  std::ofstream file_;
};

}  // namespace supervisor
