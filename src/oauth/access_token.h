// The one place that shapes and signs Portico's access tokens (RFC 9068 "at+jwt", ES256), for
// member launches, backend services and operator tokens alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "src/auth/jwk.h"
#include "src/base/status.h"
#include "src/json/json.h"
#include "src/oauth/key_manager.h"

namespace portico::oauth {

struct AccessTokenFields {
  std::string issuer;
  std::string audience;  // the FHIR base URL
  std::string subject;
  std::string client_id;
  std::string scope;
  std::string grant_id;   // checked on every request, so revoking the grant ends the token
  std::string patient;    // "" = no patient context
  std::string fhir_user;  // "" = none
  int64_t now_seconds = 0;
  int lifetime_seconds = 0;
};

StatusOr<std::string> SignAccessToken(const auth::SigningKey& key, const AccessTokenFields& f);

// Checks one of those tokens: an ES256 signature (or RS256, as access tokens were signed before
// they had a key of their own; no other algorithm) with the published key its kid names, the
// "at+jwt" type, then iss, aud, exp and nbf with `leeway_seconds`. Returns the claims, or
// kUnauthenticated with a reason safe to show, or kUnavailable when no keys can be loaded.
StatusOr<json::Value> VerifyAccessToken(KeyManager& keys, std::string_view token,
                                        std::string_view issuer, std::string_view audience,
                                        int64_t now_seconds, int64_t leeway_seconds);

}  // namespace portico::oauth
