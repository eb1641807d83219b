// The error log: gunicorn's line format or one JSON object a line, a level threshold, reopen on
// SIGUSR1.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace prefork::log {

enum class Level { debug, info, warning, error, critical };
// text: gunicorn's "[time] [pid] [LEVEL] message". json: {"time":…,"level":…,"logger":
// "prefork.error","pid":…,"message":…}, for log shippers (README, "Logs as JSON").
enum class Format { text, json };

// Parses gunicorn's level names ("debug", "info", "warning", "error", "critical").
bool parse_level(std::string_view name, Level& level);
void set_level(Level level);
bool enabled(Level level);
// "text" or "json".
bool parse_format(std::string_view name, Format& format);
void set_format(Format format);

// "-" or "" means stderr. Returns false (and keeps the old target) when the file cannot be opened.
bool open(const std::string& path);
// Reopens the current file (log rotation); stderr needs nothing.
void reopen();

void write(Level level, std::string_view message);

template <class... Parts>
void emit(Level level, const Parts&... parts) {
  if (!enabled(level)) return;
  std::ostringstream text;
  (text << ... << parts);
  write(level, text.str());
}

template <class... Parts>
void debug(const Parts&... parts) {
  emit(Level::debug, parts...);
}
template <class... Parts>
void info(const Parts&... parts) {
  emit(Level::info, parts...);
}
template <class... Parts>
void warning(const Parts&... parts) {
  emit(Level::warning, parts...);
}
template <class... Parts>
void error(const Parts&... parts) {
  emit(Level::error, parts...);
}
template <class... Parts>
void critical(const Parts&... parts) {
  emit(Level::critical, parts...);
}

}  // namespace prefork::log
