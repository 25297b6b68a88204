// Verifies bearer access tokens on the resource server: signature with an allow-listed
// algorithm against the authorization server's published keys, iss, aud (this FHIR base),
// exp/nbf with a small leeway, and that the grant behind the token is not revoked (checked on
// every request so revocation takes effect at once, on every node). Verified signatures are
// cached so the per-request cost stays small.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "src/auth/scopes.h"
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

  // Unauthenticated (with a reason safe to show) for any token that is not acceptable.
  StatusOr<Principal> Verify(std::string_view token);

 private:
  StatusOr<Principal> VerifyUncached(std::string_view token);

  oauth::KeyManager& keys_;
  store::AuthStore& store_;
  const std::string issuer_;
  const std::string audience_;
  const base::Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Principal> cache_;  // guarded by mu_; key: SHA-256 of the token
};

}  // namespace portico::authz
