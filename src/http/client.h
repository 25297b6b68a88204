// A minimal blocking HTTP(S) GET client, for fetching a registered client's JWKS (jwks_uri).
// https verifies the server certificate against the system trust store and the host name.
// Thread-safe (no shared state).
#pragma once

#include <string>

#include "src/base/status.h"

namespace portico::http {

struct GetOptions {
  int timeout_seconds = 5;
  size_t max_bytes = 256 * 1024;
};

// GETs `url` (http:// or https://). Returns the body of a 200 response; any other outcome is an
// error with a short reason.
StatusOr<std::string> HttpGet(const std::string& url, const GetOptions& options = {});

}  // namespace portico::http
