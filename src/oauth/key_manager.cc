#include "src/oauth/key_manager.h"

#include <algorithm>

namespace portico::oauth {

KeyManager::KeyManager(store::AuthStore& store, const base::Clock& clock, int retain_seconds,
                       int refresh_seconds)
    : store_(store),
      clock_(clock),
      retain_seconds_(retain_seconds),
      refresh_seconds_(refresh_seconds) {}

namespace {

constexpr auth::KeyType kKinds[] = {auth::KeyType::kRsa, auth::KeyType::kEcP256};

// Generates a key of `type` and stores it as current.
StatusOr<std::string> AddKey(store::AuthStore& store, auth::KeyType type, base::Millis at) {
  ASSIGN_OR_RETURN(auth::SigningKey key, auth::SigningKey::Generate(type));
  ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  RETURN_IF_ERROR(store.PutSigningKey({key.kid(), pem, at, 0}));
  return key.kid();
}

}  // namespace

Status KeyManager::Init() {
  ASSIGN_OR_RETURN(auto keys, store_.ListSigningKeys());
  // The kinds of the current keys, each key parsed once (parsing checks the key pair).
  std::vector<auth::KeyType> current;
  for (const auto& k : keys) {
    if (k.retired_at == 0) {
      if (auto key = auth::SigningKey::FromPem(k.private_pem); key.ok()) {
        current.push_back(key->type());
      }
    }
  }
  for (auth::KeyType type : kKinds) {
    if (std::find(current.begin(), current.end(), type) == current.end()) {
      RETURN_IF_ERROR(AddKey(store_, type, clock_.NowMillis()).status());
    }
  }
  return Load();
}

Status KeyManager::Load() {
  ASSIGN_OR_RETURN(auto keys, store_.ListSigningKeys());
  base::Millis now = clock_.NowMillis();
  std::string fingerprint;
  for (const auto& k : keys) {
    bool live = k.retired_at == 0 || now - k.retired_at <= retain_seconds_ * 1000LL;
    fingerprint += k.kid + ":" + std::to_string(k.retired_at) + (live ? "+" : "-") + ";";
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (snapshot_ != nullptr && fingerprint == fingerprint_) {
      // Nothing changed: keep the parsed keys, just note the check.
      auto same = std::make_shared<Snapshot>(*snapshot_);
      same->loaded_at = now;
      snapshot_ = std::move(same);
      return Status::Ok();
    }
  }
  auto snap = std::make_shared<Snapshot>();
  for (const auto& k : keys) {
    if (k.retired_at != 0 && now - k.retired_at > retain_seconds_ * 1000LL) {
      continue;
    }
    ASSIGN_OR_RETURN(auth::SigningKey key, auth::SigningKey::FromPem(k.private_pem));
    RETURN_IF_ERROR(snap->published.Add(key.public_key()));
    if (k.retired_at == 0) {  // oldest first, so the newest current key of each kind wins
      auto& slot = key.type() == auth::KeyType::kRsa ? snap->id_token_key : snap->access_token_key;
      slot = std::make_shared<auth::SigningKey>(std::move(key));
    }
  }
  if (snap->id_token_key == nullptr) {
    return InternalError("no current RSA signing key");
  }
  if (snap->access_token_key == nullptr) {
    // A store written before access tokens had a key of their own, or rotated by a node of that
    // release: access tokens are signed RS256 until a P-256 key is current (Init adds one).
    snap->access_token_key = snap->id_token_key;
  }
  snap->loaded_at = now;
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(snap);
  fingerprint_ = fingerprint;
  return Status::Ok();
}

std::shared_ptr<const KeyManager::Snapshot> KeyManager::Get() {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snap = snapshot_;
  }
  if (snap == nullptr || clock_.NowMillis() - snap->loaded_at > refresh_seconds_ * 1000LL) {
    if (Load().ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      snap = snapshot_;
    }
  }
  return snap;
}

std::shared_ptr<const KeyManager::Snapshot> KeyManager::GetForKid(const std::string& kid) {
  auto snap = Get();
  if (snap != nullptr && snap->published.Find(kid) != nullptr) {
    return snap;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    base::Millis now = clock_.NowMillis();
    if (now - last_miss_reload_ < 2000) {
      return snapshot_;
    }
    last_miss_reload_ = now;
  }
  if (Load().ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshot_;
  }
  return snap;
}

StatusOr<std::vector<std::string>> KeyManager::Rotate() {
  base::Millis now = clock_.NowMillis();
  RETURN_IF_ERROR(store_.RetireSigningKeys(now));
  std::vector<std::string> kids;
  for (auth::KeyType type : kKinds) {
    ASSIGN_OR_RETURN(std::string kid, AddKey(store_, type, now + 1));
    kids.push_back(std::move(kid));
  }
  RETURN_IF_ERROR(Load());
  return kids;
}

}  // namespace portico::oauth
