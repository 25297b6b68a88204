// Time helpers: an injectable clock and FHIR date/instant conversions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::base {

// Milliseconds since the Unix epoch, UTC.
using Millis = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis NowMillis() const = 0;
};

class SystemClock : public Clock {
 public:
  Millis NowMillis() const override;
  static const SystemClock& Get();
};

// Formats as a FHIR instant with milliseconds, e.g. "2024-06-01T12:00:00.123Z".
std::string FormatInstant(Millis ms);
// Formats as an RFC 7231 HTTP date, e.g. "Sat, 01 Jun 2024 12:00:00 GMT".
std::string FormatHttpDate(Millis ms);
std::optional<Millis> ParseHttpDate(std::string_view s);

// The half-open range [low, high) of instants that a FHIR date, dateTime or instant covers at its
// own precision (https://hl7.org/fhir/R4/search.html#date). Values without a zone are taken as UTC.
struct DateRange {
  Millis low = 0;
  Millis high = 0;  // exclusive
};
std::optional<DateRange> ParseFhirDateRange(std::string_view s);

Millis DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace portico::base
