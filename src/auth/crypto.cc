#include "src/auth/crypto.h"

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "src/auth/base64url.h"
#include "src/base/digest.h"

namespace portico::auth {
namespace {
constexpr size_t kMaxRandomBytes = 1 << 20;
constexpr size_t kSha256Size = 32;
}  // namespace

StatusOr<std::string> RandomBytes(size_t n) {
  if (n > kMaxRandomBytes) {
    return InvalidArgumentError("RandomBytes: request too large");
  }
  std::string out(n, '\0');
  if (n == 0) {
    return out;
  }
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return InternalError("CSPRNG failure");
  }
  return out;
}

StatusOr<std::string> RandomToken(size_t n) {
  ASSIGN_OR_RETURN(std::string bytes, RandomBytes(n));
  std::string token = Base64UrlEncode(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

StatusOr<std::string> RandomIdentifier(size_t n) {
  if (n == 0) {
    return std::string();
  }
  // Each draw begins with '-' or '_' with probability 1/32, so this ends at once in practice.
  for (;;) {
    ASSIGN_OR_RETURN(std::string token, RandomToken(n));
    if (token.front() != '-' && token.front() != '_') {
      return token;
    }
  }
}

std::string Sha256(std::string_view data) { return base::Sha256Bytes(data); }

std::string HmacSha256(std::string_view key, std::string_view message) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  // HMAC() rejects a null key pointer even for a zero-length key.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr ||
      len != kSha256Size) {
    std::abort();
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace portico::auth
