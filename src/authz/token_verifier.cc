#include "src/authz/token_verifier.h"

#include "src/auth/jws.h"
#include "src/auth/jwt_claims.h"
#include "src/oauth/access_token.h"

namespace portico::authz {

namespace {

constexpr int64_t kLeewaySeconds = 30;

}  // namespace

TokenVerifier::TokenVerifier(oauth::KeyManager& keys, store::AuthStore& store, std::string issuer,
                             std::string audience, const base::Clock& clock)
    : keys_(keys),
      store_(store),
      issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      clock_(clock) {}

StatusOr<std::shared_ptr<const Principal>> TokenVerifier::Verify(std::string_view token) {
  if (token.empty() || token.size() > auth::kMaxJwsSize) {
    return UnauthenticatedError("the access token is missing or malformed");
  }
  int64_t now = clock_.NowMillis() / 1000;
  std::string key = cache_.KeyOf(token);
  std::shared_ptr<const Principal> cached = cache_.Find(key, now);
  if (cached == nullptr) {
    ASSIGN_OR_RETURN(Principal p, VerifyUncached(token));
    cached = std::make_shared<const Principal>(std::move(p));
    cache_.Put(std::move(key), cached, cached->expires_at + kLeewaySeconds, now);
  }
  // Revocation is checked every time, against the shared store.
  ASSIGN_OR_RETURN(bool active, store_.GrantActive(cached->grant_id));
  if (!active) {
    return UnauthenticatedError("the access token has been revoked");
  }
  return cached;
}

size_t TokenVerifier::cached_tokens() const { return cache_.size(); }

StatusOr<Principal> TokenVerifier::VerifyUncached(std::string_view token) {
  ASSIGN_OR_RETURN(const json::Value verified,
                   oauth::VerifyAccessToken(keys_, token, issuer_, audience_,
                                            clock_.NowMillis() / 1000, kLeewaySeconds));
  Principal p;
  p.subject = std::string(verified.GetString("sub"));
  p.client_id = std::string(verified.GetString("client_id"));
  p.patient = std::string(verified.GetString("patient"));
  p.grant_id = std::string(verified.GetString("gid"));
  p.scope = std::string(verified.GetString("scope"));
  p.scopes = auth::ParseScopeString(p.scope);
  std::string fhir_user(verified.GetString("fhirUser"));
  if (size_t pos = fhir_user.rfind('/'); pos != std::string::npos) {
    size_t prev = fhir_user.rfind('/', pos - 1);
    p.fhir_user = fhir_user.substr(prev == std::string::npos ? 0 : prev + 1);
  }
  auto exp = auth::GetNumericDate(verified, "exp");
  p.expires_at = exp.ok() && exp->has_value() ? **exp : 0;
  if (p.grant_id.empty()) {
    return UnauthenticatedError("the access token has no grant");
  }
  return p;
}

}  // namespace portico::authz
