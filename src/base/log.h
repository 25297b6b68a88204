// Structured logs: one JSON object per line on standard error, for log shippers.
//
//   base::LogLine(base::LogLevel::kWarn, "db.unavailable").Str("detail", s.message());
//   -> {"ts":"2026-11-29T03:30:00.123Z","level":"warn","event":"db.unavailable","detail":"..."}
//
// The line is written when the LogLine is destroyed, with one write call, so lines of concurrent
// threads never interleave. Callers pass only what is safe to keep: never tokens, secrets,
// passwords, resource bodies, query strings or member identifiers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace portico::base {

enum class LogLevel { kInfo, kWarn, kError };

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view event);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Str(std::string_view key, std::string_view value);
  LogLine& Int(std::string_view key, int64_t value);
  LogLine& Bool(std::string_view key, bool value);

 private:
  void Key(std::string_view key);
  std::string line_;
};

// Replaces where lines go (default: standard error); nullptr restores the default. For tests.
void SetLogSinkForTesting(std::function<void(std::string_view line)> sink);

}  // namespace portico::base
