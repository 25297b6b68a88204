// application/x-www-form-urlencoded bodies and query strings (http::ParseFormEncoded), URL
// percent-decoding of request paths and scope constraints (base::PercentDecode), FHIR search
// value escapes (base::SplitEscaped) and integers (base::ParseInt).
// Invariants: PercentDecode(PercentEncode(x)) == x; a re-encoded form parses to the same pairs;
// SplitEscaped never yields more parts than separators + 1.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/base/strings.h"
#include "src/http/message.h"
#include "tests/fuzz/fuzz_util.h"

namespace base = portico::base;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = portico::fuzz::AsView(data, size);

  std::vector<std::pair<std::string, std::string>> pairs;
  if (portico::http::ParseFormEncoded(in, pairs)) {
    std::string encoded;
    for (const auto& [k, v] : pairs) {
      if (!encoded.empty()) {
        encoded += '&';
      }
      encoded += base::PercentEncode(k) + "=" + base::PercentEncode(v);
    }
    std::vector<std::pair<std::string, std::string>> again;
    FUZZ_CHECK(portico::http::ParseFormEncoded(encoded, again), encoded);
    // Pairs with an empty name may be dropped by the parser; compare the named ones.
    std::vector<std::pair<std::string, std::string>> named;
    for (auto& p : pairs) {
      if (!p.first.empty()) named.push_back(p);
    }
    std::vector<std::pair<std::string, std::string>> named_again;
    for (auto& p : again) {
      if (!p.first.empty()) named_again.push_back(p);
    }
    FUZZ_CHECK(named == named_again, encoded);
  }

  for (bool plus : {false, true}) {
    auto d = base::PercentDecode(in, plus);
    if (d) {
      FUZZ_CHECK(d->size() <= in.size(), in);
    }
  }
  std::string enc = base::PercentEncode(in);
  auto dec = base::PercentDecode(enc, false);
  FUZZ_CHECK(dec && *dec == in, enc);
  auto dec_plus = base::PercentDecode(enc, true);
  FUZZ_CHECK(dec_plus && *dec_plus == in, enc);

  for (char sep : {',', '|', '$'}) {
    auto parts = base::SplitEscaped(in, sep);
    size_t seps = 0;
    for (char c : in) seps += c == sep;
    FUZZ_CHECK(parts.size() <= seps + 1, in);
  }
  (void)base::ParseInt(in);
  (void)base::NormalizeForSearch(in);
  (void)base::Trim(in);
  return 0;
}
