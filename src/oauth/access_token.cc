#include "src/oauth/access_token.h"

#include <utility>

#include "src/auth/crypto.h"
#include "src/auth/jws.h"
#include "src/auth/jwt_claims.h"

namespace portico::oauth {

StatusOr<std::string> SignAccessToken(const auth::SigningKey& key, const AccessTokenFields& f) {
  ASSIGN_OR_RETURN(std::string jti, auth::RandomToken(16));
  json::Value at = json::Value::MakeObject();
  at.Set("iss", json::Value::String(f.issuer));
  at.Set("sub", json::Value::String(f.subject));
  at.Set("aud", json::Value::String(f.audience));
  at.Set("exp", json::Value::Int(f.now_seconds + f.lifetime_seconds));
  at.Set("iat", json::Value::Int(f.now_seconds));
  at.Set("nbf", json::Value::Int(f.now_seconds));
  at.Set("jti", json::Value::String(jti));
  at.Set("client_id", json::Value::String(f.client_id));
  at.Set("scope", json::Value::String(f.scope));
  if (!f.patient.empty()) {
    at.Set("patient", json::Value::String(f.patient));
  }
  at.Set("gid", json::Value::String(f.grant_id));
  if (!f.fhir_user.empty()) {
    at.Set("fhirUser", json::Value::String(f.fhir_user));
  }
  return auth::SignJwt(key, at, "at+jwt");
}

StatusOr<json::Value> VerifyAccessToken(KeyManager& keys, std::string_view token,
                                        std::string_view issuer, std::string_view audience,
                                        int64_t now_seconds, int64_t leeway_seconds) {
  auto unverified = auth::DecodeJwsUnverified(token);
  if (!unverified.ok()) {
    return UnauthenticatedError("the access token is malformed");
  }
  auto snap = keys.GetForKid(std::string(unverified->header.GetString("kid")));
  if (snap == nullptr) {
    return UnavailableError("signing keys are not available");
  }
  // ES256 since access tokens got a key of their own; RS256 for tokens signed before that.
  auto verified = auth::VerifyJwsDetailed(token, snap->published, {"ES256", "RS256"});
  if (!verified.ok()) {
    return UnauthenticatedError("the access token signature is not valid");
  }
  // An ID token is signed by the same authorization server; only an "at+jwt" is an access token.
  if (verified->header.GetString("typ") != "at+jwt") {
    return UnauthenticatedError("the token is not an access token");
  }
  Status s = auth::ValidateClaims(verified->claims, issuer, audience, now_seconds, leeway_seconds);
  if (!s.ok()) {
    return UnauthenticatedError(s.message());
  }
  return std::move(verified->claims);
}

}  // namespace portico::oauth
