// The SMART App Launch authorization server (standalone patient launch): discovery documents,
// JWKS, /authorize with login, patient picker and consent, /token (authorization_code and
// refresh_token), introspection (RFC 7662), revocation (RFC 7009), userinfo and, when enabled,
// dynamic client registration (RFC 7591).
// Takes plain request structs. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "src/auth/scopes.h"
#include "src/base/expiring_cache.h"
#include "src/base/time.h"
#include "src/http/message.h"
#include "src/json/json.h"
#include "src/oauth/key_manager.h"
#include "src/store/auth_store.h"

namespace portico::oauth {

// Fetches a document by URL (a registered client's jwks_uri); injected so the domain code has no
// network dependency.
using UrlFetcher = std::function<StatusOr<std::string>(const std::string& url)>;

// RFC 7591 dynamic registration at /oauth/register: kOff (404, not advertised), kReview (new
// clients are pending until an operator activates them) or kOpen (active at once).
enum class DynamicRegistration { kOff, kReview, kOpen };

// "off", "review", "open"; false for anything else.
bool ParseDynamicRegistration(std::string_view text, DynamicRegistration& out);

struct OAuthOptions {
  std::string issuer;     // e.g. "https://api.example.com" (no trailing slash)
  std::string fhir_base;  // issuer + "/fhir": the only accepted `aud`
  int access_token_seconds = 1800;
  int code_seconds = 60;
  int refresh_days = 120;
  int auth_request_seconds = 900;  // time to finish login and consent
  int max_failed_logins = 5;       // then the account locks
  int lockout_seconds = 900;
  // Limits (0 = none): authorization requests in progress per browser session and per client,
  // unused codes per member, live grants per (member, client) (the oldest are revoked).
  int max_auth_requests_per_session = 20;
  int max_auth_requests_per_client = 10000;
  int max_codes_per_user = 20;
  int max_grants_per_user_client = 10;
  bool secure_cookies = true;  // false only for plain-http loopback development
  UrlFetcher fetch_url;        // for clients registered with --jwks-url (may be empty)
  DynamicRegistration dynamic_registration = DynamicRegistration::kOff;
};

// Describes a patient for the picker and consent pages ("Ava Smith, born 2015-04-02").
using PatientLabeler = std::function<std::string(const std::string& patient_id)>;

class AuthorizationServer {
 public:
  // REQUIRES: `store`, `keys` and `clock` outlive this object.
  AuthorizationServer(store::AuthStore& store, KeyManager& keys, OAuthOptions options,
                      PatientLabeler labeler, const base::Clock& clock);

  // True when this server handles `path` (e.g. "/oauth/token", "/.well-known/...").
  bool Handles(std::string_view path) const;
  http::Response Handle(const http::Request& req);

  // The SMART configuration document (also served under the FHIR base).
  std::string SmartConfiguration() const;
  // rest.security of the CapabilityStatement with the oauth-uris extension.
  std::string CapabilitySecurity() const;

  // Where the token endpoint's routine events (tokens issued and refreshed) go: a batching
  // writer, so that an issuance costs no extra durable commit. Unset: written to the store at
  // once. Security events (logins, consent, replayed codes, revocations) are always written at
  // once.
  void set_async_audit(std::function<void(store::AuditEvent)> audit) {
    async_audit_ = std::move(audit);
  }

 private:
  void AuditAsync(store::AuditEvent event) {
    if (async_audit_) {
      async_audit_(std::move(event));
    } else {
      (void)store_.Audit(event);
    }
  }
  http::Response Authorize(const http::Request& req);
  http::Response Login(const http::Request& req);
  http::Response Pick(const http::Request& req);
  http::Response Consent(const http::Request& req);
  http::Response Token(const http::Request& req);
  http::Response Introspect(const http::Request& req);
  http::Response Revoke(const http::Request& req);
  http::Response UserInfo(const http::Request& req);
  http::Response Manage(const http::Request& req);
  http::Response Register(const http::Request& req);
  http::Response Jwks();
  http::Response OpenIdConfiguration() const;

  // The token response for `grant`, whose member is `user` (looked up by the caller, who may
  // have needed it before).
  StatusOr<json::Value> IssueTokens(const store::Grant& grant, const store::User& user,
                                    const std::string& scope, const std::string& nonce,
                                    const std::string& refresh_token);
  std::string FhirUserOf(const store::User& user, const std::string& patient_id) const;
  // Signature, iss, aud and times of one of our access tokens; signatures verified before are
  // remembered until the token expires.
  StatusOr<std::shared_ptr<const json::Value>> VerifyAccessToken(const std::string& token);
  static constexpr int64_t kClaimLeewaySeconds = 30;

  store::AuthStore& store_;
  KeyManager& keys_;
  OAuthOptions options_;
  PatientLabeler labeler_;
  const base::Clock& clock_;
  std::function<void(store::AuditEvent)> async_audit_;
  base::ExpiringCache<json::Value> verified_{10000};  // access tokens verified before
};

}  // namespace portico::oauth
