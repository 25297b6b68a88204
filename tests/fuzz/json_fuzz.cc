// json::Parse (every JSON body: FHIR resources, import files, $member-match Parameters, JWT
// headers and payloads, JWKS). Invariants: Serialize(Parse(x)) re-parses to an equal value and
// serializes to the same text; a quoted string parses back to itself.
#include <cstddef>
#include <cstdint>

#include "src/json/json.h"
#include "tests/fuzz/fuzz_util.h"

using portico::json::ParseOptions;
using portico::json::Value;

namespace {

void RoundTrip(std::string_view in, const ParseOptions& options) {
  auto v = portico::json::Parse(in, options);
  if (!v.ok()) {
    return;
  }
  std::string s = portico::json::Serialize(*v);
  auto again = portico::json::Parse(s, options);
  FUZZ_CHECK(again.ok(), s);
  FUZZ_CHECK(portico::json::Serialize(*again) == s, s);
  if (!options.allow_duplicate_keys) {
    // Value::operator== looks members up by name, so it is only meaningful (reflexive) for
    // objects without duplicate names, which is all that the default options produce.
    FUZZ_CHECK(*again == *v, s);
    Value copy = *v;
    FUZZ_CHECK(copy == *v, s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = portico::fuzz::AsView(data, size);
  RoundTrip(in, ParseOptions{});
  ParseOptions lax;
  lax.allow_duplicate_keys = true;
  lax.max_depth = 8;
  RoundTrip(in, lax);

  std::string quoted = portico::json::Quote(in);
  auto s = portico::json::Parse(quoted);
  if (s.ok()) {
    FUZZ_CHECK(s->is_string() && s->str() == in, quoted);
  }
  return 0;
}
