// Thin, allocation-safe wrappers over OpenSSL 3 primitives used by the authorization server:
// CSPRNG output, SHA-256, HMAC-SHA-256 and constant-time comparison. All functions are
// thread-safe (OpenSSL 3 initializes itself and its default RAND is per-thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "src/base/status.h"

namespace portico::auth {

// Returns `n` bytes from the OpenSSL CSPRNG. Fails with Internal if the generator cannot supply
// them (never silently returns weak output). n must be <= 1 MiB.
StatusOr<std::string> RandomBytes(size_t n);

// Returns base64url(RandomBytes(n)) without padding: suitable for authorization codes, refresh
// tokens, client secrets, state and nonces. Use n >= 32 for secrets (256 bits).
StatusOr<std::string> RandomToken(size_t n);

// Like RandomToken, but the result never begins with '-' or '_': identifiers that operators type
// on a command line (client ids) must not be mistaken for options. Drawn by rejection, so it is
// uniform over the tokens that begin with a letter or digit.
StatusOr<std::string> RandomIdentifier(size_t n);

// SHA-256 digest of `data` as 32 raw bytes. Like HmacSha256, aborts the process if OpenSSL's
// default provider is unusable (a broken installation; returning a digest would be unsafe).
std::string Sha256(std::string_view data);

// HMAC-SHA-256 of `message` under `key` as 32 raw bytes. Any key length below 2 GiB is accepted.
std::string HmacSha256(std::string_view key, std::string_view message);

// Compares two byte strings in time that depends only on their lengths (CRYPTO_memcmp). Strings
// of different length compare unequal immediately: lengths are not considered secret.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace portico::auth
