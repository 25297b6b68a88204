#include "src/base/time.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "src/base/strings.h"

namespace portico::base {

Millis SystemClock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
Millis DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

constexpr Millis kDay = 86400000;

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + (c - '0');
  }
  return true;
}

unsigned DaysInMonth(int y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
    return 29;
  }
  return kDays[m - 1];
}

}  // namespace

std::string FormatInstant(Millis ms) {
  int64_t days = ms >= 0 ? ms / kDay : (ms - kDay + 1) / kDay;
  Millis rem = ms - days * kDay;
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  CivilFromDays(days, y, m, d);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600000),
                static_cast<long long>(rem / 60000 % 60), static_cast<long long>(rem / 1000 % 60),
                static_cast<long long>(rem % 1000));
  return buf;
}

std::string FormatHttpDate(Millis ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::optional<Millis> ParseHttpDate(std::string_view s) {
  std::tm tm{};
  std::string str(s);
  const char* end = strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  return (DaysFromCivil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1),
                        static_cast<unsigned>(tm.tm_mday)) *
              86400 +
          tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) *
         1000;
}

std::optional<DateRange> ParseFhirDateRange(std::string_view s) {
  int y = 0;
  int mo = 1;
  int d = 1;
  if (!Digits(s, 0, 4, y)) {
    return std::nullopt;
  }
  if (s.size() == 4) {
    Millis lo = DaysFromCivil(y, 1, 1) * kDay;
    return DateRange{lo, DaysFromCivil(y + 1, 1, 1) * kDay};
  }
  if (s.size() < 7 || s[4] != '-' || !Digits(s, 5, 2, mo) || mo < 1 || mo > 12) {
    return std::nullopt;
  }
  if (s.size() == 7) {
    Millis lo = DaysFromCivil(y, static_cast<unsigned>(mo), 1) * kDay;
    Millis hi = mo == 12 ? DaysFromCivil(y + 1, 1, 1) * kDay
                         : DaysFromCivil(y, static_cast<unsigned>(mo + 1), 1) * kDay;
    return DateRange{lo, hi};
  }
  if (s.size() < 10 || s[7] != '-' || !Digits(s, 8, 2, d) || d < 1 ||
      static_cast<unsigned>(d) > DaysInMonth(y, static_cast<unsigned>(mo))) {
    return std::nullopt;
  }
  Millis day = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kDay;
  if (s.size() == 10) {
    return DateRange{day, day + kDay};
  }
  // dateTime: THH:MM(:SS(.fff)?)?(Z|+hh:mm)?
  int hh = 0;
  int mm = 0;
  int ss = 0;
  if (s[10] != 'T' || !Digits(s, 11, 2, hh) || s.size() < 16 || s[13] != ':' ||
      !Digits(s, 14, 2, mm) || hh > 23 || mm > 59) {
    return std::nullopt;
  }
  size_t pos = 16;
  Millis precision = 60000;
  Millis frac = 0;
  if (pos < s.size() && s[pos] == ':') {
    if (!Digits(s, pos + 1, 2, ss) || ss > 60) {
      return std::nullopt;
    }
    pos += 3;
    precision = 1000;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      size_t start = pos;
      Millis scale = 100;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        frac += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) {
        return std::nullopt;
      }
      precision = pos - start >= 3 ? 1 : (pos - start == 2 ? 10 : 100);
    }
  }
  Millis offset = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      offset = 0;
    } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
      int oh = 0;
      int om = 0;
      if (!Digits(s, pos + 1, 2, oh) || !Digits(s, pos + 4, 2, om) || oh > 14 || om > 59) {
        return std::nullopt;
      }
      offset = (oh * 60 + om) * 60000;
      if (s[pos] == '-') {
        offset = -offset;
      }
    } else {
      return std::nullopt;
    }
  }
  Millis lo = day + hh * 3600000 + mm * 60000 + ss * 1000 + frac - offset;
  return DateRange{lo, lo + precision};
}

}  // namespace portico::base
