// A bounded map from a secret (a bearer token) to what verifying it produced, so that a token
// presented again skips the signature check. Keys are SHA-256 digests: the cache never holds the
// secrets themselves, and a key is 64 bytes whatever the secret's size. Entries end at their own
// expiry; when the map is full, expired entries go first and, if that frees nothing, all of them.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "src/base/digest.h"

namespace portico::base {

template <class T>
class ExpiringCache {
 public:
  explicit ExpiringCache(size_t max_entries) : max_entries_(max_entries) {}

  static std::string KeyOf(std::string_view secret) { return Sha256Hex(secret); }

  // The value stored under `key`, or nullptr if there is none or it expired before `now`.
  std::shared_ptr<const T> Find(const std::string& key, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      return nullptr;
    }
    if (it->second.expires_at <= now) {
      map_.erase(it);
      return nullptr;
    }
    return it->second.value;
  }

  void Put(std::string key, std::shared_ptr<const T> value, int64_t expires_at, int64_t now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= max_entries_) {
      std::erase_if(map_, [now](const auto& e) { return e.second.expires_at <= now; });
      if (map_.size() >= max_entries_) {
        map_.clear();
      }
    }
    map_.insert_or_assign(std::move(key), Entry{std::move(value), expires_at});
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    std::shared_ptr<const T> value;
    int64_t expires_at;
  };

  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;  // guarded by mu_
};

}  // namespace portico::base
