// Small helpers shared by the OAuth and operator handlers: form parameters, cookies, random
// values and the JSON responses of RFC 6749 / RFC 7591 errors.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "src/base/time.h"
#include "src/http/message.h"
#include "src/json/json.h"
#include "src/store/auth_store.h"

namespace portico::oauth {

using Params = std::multimap<std::string, std::string>;

// SHA-256, hex: how codes, tokens and session ids are stored.
std::string Sha(std::string_view s);
// A random URL-safe value of `bytes` bytes of entropy ("" if the system has none to give).
std::string Random(size_t bytes);
// The first value of `key` ("" when absent).
std::string Get(const Params& p, const std::string& key);
// Query parameters for GET (and with `include_query`, also for POST), the form body for POST
// (application/x-www-form-urlencoded). False when malformed.
bool ReadParams(const http::Request& req, Params& out, bool include_query);
// The value of cookie `name` ("" when absent).
std::string CookieValue(const http::Request& req, std::string_view name);
// A JSON body that is never cached (token responses, errors).
http::Response JsonResponse(int status, const json::Value& v);
// {"error": ..., "error_description": ...} (RFC 6749 section 5.2, RFC 7591 section 3.2.2).
http::Response ErrorResponse(int status, const std::string& error, const std::string& description);
// A redirect that is never cached; `status` 302 or 303.
http::Response RedirectResponse(int status, const std::string& location);
// "2026-11-29 03:50" (UTC, minutes), "-" for none: times on the member and operator pages.
std::string FormatWhen(base::Millis ms);

// A sign-in form in progress (member app management, operator pages): the transaction id the
// form carries, the browser id its cookie carries, and the form's CSRF token. Stored as an
// AuthRequest whose client_id is `marker`.
struct SignInForm {
  std::string tx;
  std::string browser;
  std::string csrf;
  bool new_browser = false;  // `browser` is new: the caller sets its cookie
};
// Starts one for the browser whose cookie is `browser` (a new id when it has none). nullopt
// when the store or the random source fails.
std::optional<SignInForm> StartSignIn(store::AuthStore& store, std::string browser,
                                      const std::string& marker, base::Millis expires_at);

}  // namespace portico::oauth
