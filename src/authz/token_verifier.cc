#include "src/authz/token_verifier.h"

#include "src/auth/jws.h"
#include "src/auth/jwt_claims.h"
#include "src/base/digest.h"

namespace portico::authz {

namespace {

// About 1 KiB per entry (the Principal; the key is a digest), so at most about 10 MiB. A soak
// run showed the former 50,000 entries keyed by the whole token could hold ~100 MiB of tokens
// that had long been replaced by a refresh.
constexpr size_t kMaxCacheEntries = 10000;
constexpr int64_t kLeewaySeconds = 30;

}  // namespace

TokenVerifier::TokenVerifier(oauth::KeyManager& keys, store::AuthStore& store, std::string issuer,
                             std::string audience, const base::Clock& clock)
    : keys_(keys),
      store_(store),
      issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      clock_(clock) {}

StatusOr<Principal> TokenVerifier::Verify(std::string_view token) {
  if (token.empty() || token.size() > auth::kMaxJwsSize) {
    return UnauthenticatedError("the access token is missing or malformed");
  }
  int64_t now = clock_.NowMillis() / 1000;
  std::optional<Principal> cached;
  // Keyed by a digest: the cache never holds bearer tokens, and a key is 64 bytes, not ~1 KiB.
  std::string key = base::Sha256Hex(token);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.expires_at + kLeewaySeconds > now) {
        cached = it->second;
      } else {
        cache_.erase(it);
      }
    }
  }
  if (!cached) {
    ASSIGN_OR_RETURN(Principal p, VerifyUncached(token));
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxCacheEntries) {
      // Expired entries first; if the cache is still full, start afresh.
      std::erase_if(cache_, [now](const auto& e) {
        return e.second.expires_at + kLeewaySeconds <= now;
      });
      if (cache_.size() >= kMaxCacheEntries) {
        cache_.clear();
      }
    }
    cache_.emplace(std::move(key), p);
    cached = std::move(p);
  }
  // Revocation is checked every time, against the shared store.
  ASSIGN_OR_RETURN(bool active, store_.GrantActive(cached->grant_id));
  if (!active) {
    return UnauthenticatedError("the access token has been revoked");
  }
  return *std::move(cached);
}

StatusOr<Principal> TokenVerifier::VerifyUncached(std::string_view token) {
  auto unverified = auth::DecodeJwsUnverified(token);
  if (!unverified.ok()) {
    return UnauthenticatedError("the access token is malformed");
  }
  auto snap = keys_.GetForKid(std::string(unverified->header.GetString("kid")));
  if (snap == nullptr) {
    return UnavailableError("signing keys are not available");
  }
  auto claims = auth::VerifyJws(token, snap->published, {"RS256"});
  if (!claims.ok()) {
    return UnauthenticatedError("the access token signature is not valid");
  }
  Status s = auth::ValidateClaims(*claims, issuer_, audience_, clock_.NowMillis() / 1000,
                                  kLeewaySeconds);
  if (!s.ok()) {
    return UnauthenticatedError(s.message());
  }
  Principal p;
  p.subject = std::string(claims->GetString("sub"));
  p.client_id = std::string(claims->GetString("client_id"));
  p.patient = std::string(claims->GetString("patient"));
  p.grant_id = std::string(claims->GetString("gid"));
  p.scope = std::string(claims->GetString("scope"));
  p.scopes = auth::ParseScopeString(p.scope);
  std::string fhir_user(claims->GetString("fhirUser"));
  if (size_t pos = fhir_user.rfind('/'); pos != std::string::npos) {
    size_t prev = fhir_user.rfind('/', pos - 1);
    p.fhir_user = fhir_user.substr(prev == std::string::npos ? 0 : prev + 1);
  }
  auto exp = auth::GetNumericDate(*claims, "exp");
  p.expires_at = exp.ok() && exp->has_value() ? **exp : 0;
  if (p.grant_id.empty()) {
    return UnauthenticatedError("the access token has no grant");
  }
  return p;
}

}  // namespace portico::authz
