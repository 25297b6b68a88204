// Password and client-secret hashing.
// Passwords: Argon2id (libsodium crypto_pwhash_str) with the OWASP minimum cost (t=2, m=19 MiB),
// stored as PHC strings. Client secrets are long random values, so a salted HMAC-SHA256 is
// enough and keeps the token endpoint fast. Both verifications are constant-time.
#pragma once

#include <string>
#include <string_view>

#include "src/base/status.h"

namespace portico::auth {

StatusOr<std::string> HashPassword(std::string_view password);
// False for a wrong password or a malformed hash.
bool VerifyPassword(std::string_view password, const std::string& hash);
// Spends about the time of one verification; used for unknown users so that timing does not
// reveal which usernames exist.
void DummyPasswordCheck(std::string_view password);

// "s1$<salt hex>$<hmac hex>".
StatusOr<std::string> HashClientSecret(std::string_view secret);
bool VerifyClientSecret(std::string_view secret, const std::string& hash);

}  // namespace portico::auth
