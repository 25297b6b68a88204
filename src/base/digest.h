// Message digests (OpenSSL underneath).
#pragma once

#include <string>
#include <string_view>

namespace portico::base {

// SHA-256 of `data` as 64 lower-case hex characters.
std::string Sha256Hex(std::string_view data);

}  // namespace portico::base

namespace portico::base {

// HMAC-SHA256 of `data` under `key`, as lower-case hex.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace portico::base
