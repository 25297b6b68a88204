// Validation of registered JWT claims (RFC 7519 section 4.1) after signature verification.
// Time is injected (`now`, seconds since the Unix epoch); this module never reads a clock.
// All functions are pure and thread-safe. Failure messages name the failing claim but never
// include claim values or the token.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "src/base/status.h"
#include "src/json/json.h"

namespace portico::auth {

// Largest accepted leeway (clock skew tolerance); larger values are clamped.
inline constexpr int64_t kMaxLeewaySeconds = 300;

// Reads NumericDate claim `name` (RFC 7519 section 2: seconds, possibly fractional, which is
// truncated toward zero). Returns nullopt when absent; Unauthenticated when present but not a
// non-negative number representable as int64 seconds (exponent notation is rejected).
StatusOr<std::optional<int64_t>> GetNumericDate(const json::Value& claims, std::string_view name);

// Validates `claims` (must be an object):
//   iss  required, a string exactly equal to `expected_iss`;
//   aud  required, a string equal to `expected_aud`, or a non-empty array of strings one of
//        which equals it;
//   exp  required NumericDate; rejected when now >= exp + leeway;
//   nbf  optional; rejected when now + leeway < nbf;
//   iat  optional; rejected when iat > now + leeway (issued in the future) or iat > exp.
// `leeway_seconds` is clamped to [0, kMaxLeewaySeconds]. Empty `expected_iss`/`expected_aud`
// are a caller bug and fail closed with Internal. Other failures return Unauthenticated.
Status ValidateClaims(const json::Value& claims, std::string_view expected_iss,
                      std::string_view expected_aud, int64_t now, int64_t leeway_seconds);

}  // namespace portico::auth
