// The authorization server's token-signing keys: an RSA key (RS256) for ID tokens, which SMART
// requires to be RS256, and an EC P-256 key (ES256) for access tokens, which only Portico reads
// and which cost a tenth of an RSA signature to sign. Keys live in the AuthStore so every node
// signs and verifies with the same set; a node reloads them when it meets an unknown kid
// (rate-limited) and at least every `refresh_seconds`. Rotation retires the current keys and adds
// new ones; retired keys stay published (and accepted) for `retain_seconds` so that tokens they
// signed stay valid until they expire. Private keys are never logged.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/auth/jwk.h"
#include "src/base/time.h"
#include "src/store/auth_store.h"

namespace portico::oauth {

class KeyManager {
 public:
  struct Snapshot {
    std::shared_ptr<const auth::SigningKey> id_token_key;      // RS256, newest current RSA key
    std::shared_ptr<const auth::SigningKey> access_token_key;  // ES256, newest current EC key
    auth::KeySet published;  // current + retired keys still within retention
    base::Millis loaded_at = 0;
  };

  // REQUIRES: `store` and `clock` outlive this object.
  KeyManager(store::AuthStore& store, const base::Clock& clock, int retain_seconds = 86400,
             int refresh_seconds = 5);

  // Loads the keys, generating and storing a key of each kind the store has no current one of.
  Status Init();
  // The current keys (reloaded when stale).
  std::shared_ptr<const Snapshot> Get();
  // Reloads when `kid` is unknown (at most once every few seconds).
  std::shared_ptr<const Snapshot> GetForKid(const std::string& kid);
  // Retires the current keys and starts signing with new ones. Returns the new kids.
  StatusOr<std::vector<std::string>> Rotate();

 private:
  Status Load();

  store::AuthStore& store_;
  const base::Clock& clock_;
  const int retain_seconds_;
  const int refresh_seconds_;
  std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // guarded by mu_
  base::Millis last_miss_reload_ = 0;         // guarded by mu_
  std::string fingerprint_;                   // guarded by mu_: kids and states loaded
};

}  // namespace portico::oauth
