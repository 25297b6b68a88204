#include "src/oauth/key_manager.h"

namespace portico::oauth {

KeyManager::KeyManager(store::AuthStore& store, const base::Clock& clock, int retain_seconds,
                       int refresh_seconds)
    : store_(store),
      clock_(clock),
      retain_seconds_(retain_seconds),
      refresh_seconds_(refresh_seconds) {}

Status KeyManager::Init() {
  ASSIGN_OR_RETURN(auto keys, store_.ListSigningKeys());
  bool has_current = false;
  for (const auto& k : keys) {
    has_current = has_current || k.retired_at == 0;
  }
  if (!has_current) {
    ASSIGN_OR_RETURN(auth::SigningKey key, auth::SigningKey::Generate());
    ASSIGN_OR_RETURN(std::string pem, key.ToPem());
    RETURN_IF_ERROR(store_.PutSigningKey({key.kid(), pem, clock_.NowMillis(), 0}));
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
    if (k.retired_at == 0) {
      snap->current = std::make_shared<auth::SigningKey>(std::move(key));  // newest wins
    }
  }
  if (snap->current == nullptr) {
    return InternalError("no current signing key");
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

StatusOr<std::string> KeyManager::Rotate() {
  ASSIGN_OR_RETURN(auth::SigningKey key, auth::SigningKey::Generate());
  ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  base::Millis now = clock_.NowMillis();
  RETURN_IF_ERROR(store_.RetireSigningKeys(now));
  RETURN_IF_ERROR(store_.PutSigningKey({key.kid(), pem, now + 1, 0}));
  RETURN_IF_ERROR(Load());
  return key.kid();
}

}  // namespace portico::oauth
