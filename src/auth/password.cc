#include "src/auth/password.h"

#include <sodium.h>

#include "src/auth/crypto.h"
#include "src/base/digest.h"
#include "src/base/strings.h"

namespace portico::auth {

namespace {

constexpr unsigned long long kOpsLimit = 2;
constexpr size_t kMemLimit = 19u * 1024 * 1024;

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

StatusOr<std::string> HashPassword(std::string_view password) {
  if (!SodiumReady()) {
    return InternalError("libsodium failed to initialize");
  }
  if (password.empty() || password.size() > 1024) {
    return InvalidArgumentError("a password must have 1 to 1024 characters");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), kOpsLimit, kMemLimit) != 0) {
    return InternalError("password hashing ran out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& hash) {
  if (!SodiumReady() || hash.empty() || password.size() > 1024) {
    return false;
  }
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void DummyPasswordCheck(std::string_view password) {
  static const std::string dummy = [] {
    auto h = HashPassword("portico-dummy-password");
    return h.ok() ? *h : std::string();
  }();
  (void)VerifyPassword(password, dummy);
}

StatusOr<std::string> HashClientSecret(std::string_view secret) {
  ASSIGN_OR_RETURN(std::string salt, RandomBytes(16));
  return "s1$" + base::HexEncode(salt) + "$" + base::HexEncode(base::HmacSha256Bytes(salt, secret));
}

bool VerifyClientSecret(std::string_view secret, const std::string& hash) {
  std::vector<std::string_view> parts = base::Split(hash, '$');
  if (parts.size() != 3 || parts[0] != "s1" || parts[1].size() != 32) {
    return false;
  }
  std::string salt;
  for (size_t i = 0; i + 1 < parts[1].size(); i += 2) {
    auto byte = base::PercentDecode("%" + std::string(parts[1].substr(i, 2)), false);
    if (!byte || byte->size() != 1) {
      return false;
    }
    salt += *byte;
  }
  return base::ConstantTimeEquals(base::HexEncode(base::HmacSha256Bytes(salt, secret)), parts[2]);
}

}  // namespace portico::auth
