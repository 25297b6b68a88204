// Base64 codecs for JOSE (RFC 7515 section 2 / RFC 4648 section 5) and HTTP Basic credentials
// (RFC 4648 section 4). All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "src/base/status.h"

namespace portico::auth {

// Encodes `data` with the URL-safe alphabet and no padding, as JOSE requires.
std::string Base64UrlEncode(std::string_view data);

// Strictly decodes unpadded base64url. Fails with InvalidArgument on any '=' (JOSE forbids
// padding), characters outside [A-Za-z0-9_-], an impossible length (len % 4 == 1) or non-zero
// unused trailing bits (non-canonical encodings). The empty string decodes to "". Error messages
// never echo the input.
StatusOr<std::string> Base64UrlDecode(std::string_view encoded);

// Encodes with the standard alphabet and '=' padding.
std::string Base64Encode(std::string_view data);

// Strictly decodes standard, padded base64: the length must be a multiple of 4, padding ('=' x1
// or x2) may only end the input, the alphabet is [A-Za-z0-9+/], and unused trailing bits must be
// zero. Fails with InvalidArgument otherwise.
StatusOr<std::string> Base64Decode(std::string_view encoded);

}  // namespace portico::auth
