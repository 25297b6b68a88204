#include "src/auth/jwt_claims.h"

#include <algorithm>
#include <limits>
#include <string>

#include "src/base/strings.h"

namespace portico::auth {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Saturating addition so hostile claim values cannot overflow comparisons.
int64_t SatAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return out;
}

}  // namespace

StatusOr<std::optional<int64_t>> GetNumericDate(const json::Value& claims, std::string_view name) {
  const json::Value* v = claims.Find(name);
  if (v == nullptr) {
    return std::optional<int64_t>();
  }
  std::string bad = "JWT claim \"" + std::string(name) + "\" is not a valid NumericDate";
  if (!v->is_number()) {
    return UnauthenticatedError(bad);
  }
  std::string_view text = v->str();
  std::string_view integer = text;
  if (size_t dot = text.find('.'); dot != std::string_view::npos) {
    integer = text.substr(0, dot);
    if (!AllDigits(text.substr(dot + 1))) {
      return UnauthenticatedError(bad);
    }
  }
  // Rejects '-', exponents and anything else that is not plain decimal digits.
  if (!AllDigits(integer)) {
    return UnauthenticatedError(bad);
  }
  std::optional<int64_t> value = base::ParseInt(integer);
  if (!value.has_value()) {
    return UnauthenticatedError(bad);
  }
  return std::optional<int64_t>(*value);
}

Status ValidateClaims(const json::Value& claims, std::string_view expected_iss,
                      std::string_view expected_aud, int64_t now, int64_t leeway_seconds) {
  if (expected_iss.empty() || expected_aud.empty()) {
    return InternalError("ValidateClaims: expected issuer and audience must be configured");
  }
  if (!claims.is_object()) {
    return UnauthenticatedError("JWT claims are not a JSON object");
  }
  int64_t leeway = std::clamp<int64_t>(leeway_seconds, 0, kMaxLeewaySeconds);

  const json::Value* iss = claims.Find("iss");
  if (iss == nullptr || !iss->is_string()) {
    return UnauthenticatedError("JWT \"iss\" claim is missing or not a string");
  }
  if (iss->str() != expected_iss) {
    return UnauthenticatedError("JWT \"iss\" claim does not match the expected issuer");
  }

  const json::Value* aud = claims.Find("aud");
  if (aud == nullptr) {
    return UnauthenticatedError("JWT \"aud\" claim is missing");
  }
  bool aud_ok = false;
  if (aud->is_string()) {
    aud_ok = aud->str() == expected_aud;
  } else if (aud->is_array() && !aud->array().empty()) {
    for (const json::Value& a : aud->array()) {
      if (!a.is_string()) {
        return UnauthenticatedError("JWT \"aud\" array must contain only strings");
      }
      aud_ok = aud_ok || a.str() == expected_aud;
    }
  } else {
    return UnauthenticatedError("JWT \"aud\" claim must be a string or non-empty string array");
  }
  if (!aud_ok) {
    return UnauthenticatedError("JWT \"aud\" claim does not include the expected audience");
  }

  ASSIGN_OR_RETURN(std::optional<int64_t> exp, GetNumericDate(claims, "exp"));
  if (!exp.has_value()) {
    return UnauthenticatedError("JWT \"exp\" claim is missing");
  }
  if (now >= SatAdd(*exp, leeway)) {
    return UnauthenticatedError("JWT has expired");
  }

  ASSIGN_OR_RETURN(std::optional<int64_t> nbf, GetNumericDate(claims, "nbf"));
  if (nbf.has_value() && SatAdd(now, leeway) < *nbf) {
    return UnauthenticatedError("JWT is not valid yet (\"nbf\" is in the future)");
  }

  ASSIGN_OR_RETURN(std::optional<int64_t> iat, GetNumericDate(claims, "iat"));
  if (iat.has_value()) {
    if (*iat > SatAdd(now, leeway)) {
      return UnauthenticatedError("JWT \"iat\" claim is in the future");
    }
    if (*iat > *exp) {
      return UnauthenticatedError("JWT \"iat\" claim is after \"exp\"");
    }
  }
  return Status::Ok();
}

}  // namespace portico::auth
