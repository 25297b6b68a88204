// The one place that shapes and signs Portico's access tokens (RFC 9068 "at+jwt", RS256), for
// member launches, backend services and operator tokens alike.
#pragma once

#include <cstdint>
#include <string>

#include "src/auth/jwk.h"
#include "src/base/status.h"

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

}  // namespace portico::oauth
