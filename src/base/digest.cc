#include "src/base/digest.h"

#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "src/base/strings.h"

namespace portico::base {

namespace {

constexpr size_t kSha256Size = 32;

// SHA-256, looked up once. EVP_sha256() makes each digest fetch the implementation from the
// provider tables again, under their locks: a third of the cost of hashing a token-sized input.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) {
    std::abort();
  }
  return md;
}

}  // namespace

std::string Sha256Bytes(std::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 Sha256Md(), nullptr) != 1 ||
      len != kSha256Size) {
    std::abort();
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256Bytes(data)); }

std::string HmacSha256Bytes(std::string_view key, std::string_view data) {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  // HMAC() rejects a null key pointer even for a zero-length key.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(Sha256Md(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr ||
      len != kSha256Size) {
    std::abort();
  }
  return out;
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  return HexEncode(HmacSha256Bytes(key, data));
}

}  // namespace portico::base
