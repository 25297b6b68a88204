// FHIR date/dateTime/instant search values and HTTP dates (If-Modified-Since):
// base::ParseFhirDateRange, base::ParseHttpDate.
// Invariants: a parsed range is non-empty (low < high); a parsed HTTP date formats and re-parses
// to the same instant; FormatInstant output parses to a one-millisecond range at that instant.
#include <cstddef>
#include <cstdint>

#include "src/base/time.h"
#include "tests/fuzz/fuzz_util.h"

namespace base = portico::base;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = portico::fuzz::AsView(data, size);
  if (auto r = base::ParseFhirDateRange(in)) {
    FUZZ_CHECK(r->low < r->high, in);
  }
  if (auto ms = base::ParseHttpDate(in)) {
    std::string text = base::FormatHttpDate(*ms);
    auto again = base::ParseHttpDate(text);
    FUZZ_CHECK(again && *again == *ms, text);
  }
  // Arbitrary instants from the first 8 bytes, within the years 0001..9999.
  if (size >= 8) {
    int64_t raw = 0;
    for (int i = 0; i < 8; ++i) raw = (raw << 8) | data[i];
    constexpr int64_t kMin = -62135596800000;  // 0001-01-01T00:00:00Z
    constexpr int64_t kMax = 253402300799999;  // 9999-12-31T23:59:59.999Z
    uint64_t span = static_cast<uint64_t>(kMax - kMin) + 1;
    int64_t ms = kMin + static_cast<int64_t>(static_cast<uint64_t>(raw) % span);
    std::string instant = base::FormatInstant(ms);
    auto r = base::ParseFhirDateRange(instant);
    FUZZ_CHECK(r && r->low == ms && r->high == ms + 1, instant);
  }
  return 0;
}
