#include "src/base/log.h"

#include <cstdio>
#include <mutex>
#include <utility>

#include <unistd.h>

#include "src/base/time.h"

namespace portico::base {

namespace {

std::mutex& SinkMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

std::function<void(std::string_view)>& Sink() {
  static auto* sink = new std::function<void(std::string_view)>;
  return *sink;
}

void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);  // UTF-8 passes through
    }
  }
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

LogLine::LogLine(LogLevel level, std::string_view event) {
  line_.reserve(160);
  line_ = "{\"ts\":\"" + FormatInstant(SystemClock::Get().NowMillis()) + "\",\"level\":\"" +
          LevelName(level) + "\",\"event\":\"";
  AppendEscaped(line_, event);
  line_.push_back('"');
}

LogLine::~LogLine() {
  line_ += "}\n";
  {
    std::lock_guard<std::mutex> lock(SinkMutex());
    if (Sink()) {
      Sink()(line_);
      return;
    }
  }
  // One write(2) per line: concurrent lines do not interleave (a pipe keeps writes up to
  // PIPE_BUF atomic; longer lines are still written whole by this one call in practice).
  size_t off = 0;
  while (off < line_.size()) {
    ssize_t n = ::write(STDERR_FILENO, line_.data() + off, line_.size() - off);
    if (n <= 0) {
      break;
    }
    off += static_cast<size_t>(n);
  }
}

void LogLine::Key(std::string_view key) {
  line_ += ",\"";
  AppendEscaped(line_, key);
  line_ += "\":";
}

LogLine& LogLine::Str(std::string_view key, std::string_view value) {
  Key(key);
  line_.push_back('"');
  AppendEscaped(line_, value);
  line_.push_back('"');
  return *this;
}

LogLine& LogLine::Int(std::string_view key, int64_t value) {
  Key(key);
  line_ += std::to_string(value);
  return *this;
}

LogLine& LogLine::Bool(std::string_view key, bool value) {
  Key(key);
  line_ += value ? "true" : "false";
  return *this;
}

void SetLogSinkForTesting(std::function<void(std::string_view line)> sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  Sink() = std::move(sink);
}

}  // namespace portico::base
