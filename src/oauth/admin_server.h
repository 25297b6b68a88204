// The operators' side of app registration: a JSON API under /admin/api/clients (HTTP Basic with
// an operator account) and server-rendered pages under /admin (sign-in form, app list, a page per
// app with Suspend / Activate / Remove, and a Register form whose field names are the RFC 7591
// metadata names).
//
// Operator accounts are checked like member logins: Argon2id, the same work for unknown names,
// lockout after `max_failed_logins` failures with doubling back-off. Every change and every
// failed sign-in is audited as an operator.* event; secrets never reach the audit trail.
//
// Page form field names (a stable contract for automation):
//   sign-in:  "username", "password", hidden "tx" and "csrf"
//   register: client_name, client_uri, policy_uri, tos_uri, logo_uri, redirect_uris (one per
//             line), contacts (one per line), scope, token_endpoint_auth_method, jwks_uri, and a
//             radio "attest_<question key>" with values "yes" / "no" per attestation question
//   actions:  POST /admin/clients/{id}/{suspend|activate|remove} with hidden "csrf"
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "src/base/time.h"
#include "src/http/message.h"
#include "src/store/auth_store.h"

namespace portico::oauth {

struct AdminOptions {
  std::string issuer;  // public base URL, no trailing slash
  bool secure_cookies = true;
  int session_seconds = 1800;
  int max_failed_logins = 5;
  int lockout_seconds = 900;
};

class AdminServer {
 public:
  // REQUIRES: `store` and `clock` outlive this object.
  AdminServer(store::AuthStore& store, AdminOptions options, const base::Clock& clock);

  // True for "/admin" and every path under "/admin/".
  static bool Handles(std::string_view path);
  http::Response Handle(const http::Request& req);

 private:
  enum class Check { kOk, kBadCredentials, kLocked, kUnavailable };
  // Verifies an operator's password with lockout and audits the outcome.
  Check CheckOperator(const std::string& username, const std::string& password,
                      const std::string& via);

  http::Response Api(const http::Request& req);
  http::Response Pages(const http::Request& req);

  store::AuthStore& store_;
  AdminOptions options_;
  const base::Clock& clock_;
};

}  // namespace portico::oauth
