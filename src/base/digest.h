// Message digests (OpenSSL underneath).
#pragma once

#include <string>
#include <string_view>

namespace portico::base {

// SHA-256 of `data` as 32 raw bytes. Aborts the process if OpenSSL's default provider has no
// SHA-256, since continuing without digests would be unsafe.
std::string Sha256Bytes(std::string_view data);

// SHA-256 of `data` as 64 lower-case hex characters.
std::string Sha256Hex(std::string_view data);

// HMAC-SHA256 of `data` under `key` as 32 raw bytes (any key length below 2 GiB, empty included).
// Aborts like Sha256Bytes.
std::string HmacSha256Bytes(std::string_view key, std::string_view data);

// HMAC-SHA256 of `data` under `key`, as lower-case hex.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace portico::base
