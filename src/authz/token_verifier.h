// Verifies bearer access tokens on the resource server: signature with an allow-listed
// algorithm against the authorization server's published keys, iss, aud (this FHIR base),
// exp/nbf with a small leeway, and that the grant behind the token is not revoked (checked on
// every request so revocation takes effect at once, on every node). Verified signatures are
// cached so the per-request cost stays small.
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "src/auth/scopes.h"
#include "src/base/expiring_cache.h"
#include "src/base/time.h"
#include "src/oauth/key_manager.h"
#include "src/store/auth_store.h"

namespace portico::authz {

struct Principal {
  std::string subject;    // the member's or delegate's username
  std::string client_id;
  std::string patient;    // the patient context ("" = none)
  std::string grant_id;
  std::string fhir_user;  // "Type/id" of the token holder's own resource
  std::string scope;
  auth::ScopeSet scopes;
  int64_t expires_at = 0;  // seconds
};

class TokenVerifier {
 public:
  // REQUIRES: `keys`, `store` and `clock` outlive this object.
  TokenVerifier(oauth::KeyManager& keys, store::AuthStore& store, std::string issuer,
                std::string audience, const base::Clock& clock);

  // Unauthenticated (with a reason safe to show) for any token that is not acceptable. The
  // principal is shared with the cache, so a request copies a pointer, not its strings.
  StatusOr<std::shared_ptr<const Principal>> Verify(std::string_view token);

  // Verified tokens held now (for the metrics page).
  size_t cached_tokens() const;

 private:
  StatusOr<Principal> VerifyUncached(std::string_view token);

  oauth::KeyManager& keys_;
  store::AuthStore& store_;
  const std::string issuer_;
  const std::string audience_;
  const base::Clock& clock_;
  // About 1 KiB per entry, so at most about 10 MiB. A soak run showed the former 50,000 entries
  // keyed by the whole token could hold ~100 MiB of tokens long replaced by a refresh.
  base::ExpiringCache<Principal> cache_{10000};
};

}  // namespace portico::authz
