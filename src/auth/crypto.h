// Random secrets from OpenSSL 3's CSPRNG for the authorization server. Digests, HMAC and
// constant-time comparison are in src/base (digest.h, strings.h). All functions are thread-safe
// (OpenSSL 3 initializes itself and its default RAND is per-thread).
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

}  // namespace portico::auth
