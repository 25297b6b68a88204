#include "src/auth/crypto.h"

#include <openssl/rand.h>

#include "src/auth/base64url.h"

namespace portico::auth {
namespace {
constexpr size_t kMaxRandomBytes = 1 << 20;
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

}  // namespace portico::auth
