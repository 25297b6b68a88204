#include "src/oauth/authorization_server.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "src/auth/base64url.h"
#include "src/auth/jws.h"
#include "src/auth/jwt_claims.h"
#include "src/auth/password.h"
#include "src/base/digest.h"
#include "src/base/log.h"
#include "src/base/strings.h"
#include "src/oauth/access_token.h"
#include "src/oauth/client_metadata.h"
#include "src/oauth/handler_util.h"
#include "src/oauth/pages.h"

namespace portico::oauth {

namespace {

constexpr const char* kSessionCookie = "portico_session";

int Count(const Params& p, const std::string& key) { return static_cast<int>(p.count(key)); }

http::Response Html(int status, std::string body) { return HtmlResponse(status, std::move(body)); }

http::Response Json(int status, const json::Value& v) { return JsonResponse(status, v); }

http::Response OAuthError(int status, const std::string& error, const std::string& description) {
  return ErrorResponse(status, error, description);
}

// A store that failed (unreachable, out of space): the operator reads why in the log (store
// messages name tables and files, never values); the client may try again later.
void LogStoreFailure(std::string_view op, const Status& s) {
  base::LogLine(base::LogLevel::kError, "store.failed").Str("op", op).Str("detail", s.message());
}

http::Response StoreFailure(std::string_view op, const Status& s) {
  LogStoreFailure(op, s);
  return OAuthError(503, "temporarily_unavailable", "please try again");
}

// The answer when tokens could not be made: a store or key that is unavailable is the server's
// passing trouble, anything else an internal error.
http::Response IssueFailure(const Status& s) {
  if (s.code() == StatusCode::kUnavailable) {
    return StoreFailure("issue_tokens", s);
  }
  base::LogLine(base::LogLevel::kError, "token.failed").Str("detail", s.message());
  return OAuthError(500, "server_error", "could not issue tokens");
}

std::string AppendParams(const std::string& uri,
                         const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = uri;
  size_t hash = out.find('#');
  if (hash != std::string::npos) {
    out.resize(hash);
  }
  char sep = out.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    out.push_back(sep);
    sep = '&';
    out += base::PercentEncode(k) + "=" + base::PercentEncode(v);
  }
  return out;
}

http::Response Redirect(const std::string& location) { return RedirectResponse(302, location); }

http::Response RedirectError(const std::string& redirect_uri, const std::string& error,
                             const std::string& description, const std::string& state) {
  std::vector<std::pair<std::string, std::string>> p = {{"error", error}};
  if (!description.empty()) {
    p.emplace_back("error_description", description);
  }
  if (!state.empty()) {
    p.emplace_back("state", state);
  }
  return Redirect(AppendParams(redirect_uri, p));
}

bool IsPkceString(std::string_view s) {
  if (s.size() < 43 || s.size() > 128) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Why `client` may not redeem `ac` with the token request `p` (expired, another client's,
// another redirect_uri, a failed PKCE check), as the OAuth error to answer; nothing when it may.
std::optional<http::Response> CheckCodeRedemption(const store::AuthCode& ac,
                                                  const store::Client& client, const Params& p,
                                                  base::Millis now) {
  if (ac.expires_at < now) {
    return OAuthError(400, "invalid_grant", "the authorization code has expired");
  }
  if (ac.client_id != client.client_id) {
    return OAuthError(400, "invalid_grant", "the code was issued to another client");
  }
  if (Get(p, "redirect_uri") != ac.redirect_uri) {
    return OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization");
  }
  std::string verifier = Get(p, "code_verifier");
  if (!ac.code_challenge.empty()) {
    if (!IsPkceString(verifier)) {
      return OAuthError(400, "invalid_grant", "a valid code_verifier is required");
    }
    std::string computed = auth::Base64UrlEncode(base::Sha256Bytes(verifier));
    if (!base::ConstantTimeEquals(computed, ac.code_challenge)) {
      return OAuthError(400, "invalid_grant", "code_verifier does not match the challenge");
    }
  } else if (!verifier.empty()) {
    return OAuthError(400, "invalid_grant", "no code_challenge was sent for this code");
  }
  return std::nullopt;
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

// Keeps the scopes this server understands (unknown ones are dropped, never errors) and, when
// the client is limited to some scopes, only those.
auth::ScopeSet FilterScopes(const std::string& requested, const std::string& client_scope) {
  auth::ScopeSet set = auth::ParseScopeString(requested);
  set.invalid.clear();
  // A member-facing launch never grants system/ scopes (those are for backend services).
  set.resources.erase(std::remove_if(set.resources.begin(), set.resources.end(),
                                     [](const auth::ResourceScope& s) {
                                       return s.context == auth::Context::kSystem;
                                     }),
                      set.resources.end());
  if (client_scope.empty()) {
    return set;
  }
  auth::ScopeSet allowed = auth::ParseScopeString(client_scope);
  auth::ScopeSet narrowed = auth::Narrow(set, allowed);
  narrowed.invalid.clear();
  for (const std::string& o : set.others) {
    if (allowed.others.count(o)) {
      narrowed.others.insert(o);
    }
  }
  return narrowed;
}

}  // namespace

bool ParseDynamicRegistration(std::string_view text, DynamicRegistration& out) {
  if (text == "off") {
    out = DynamicRegistration::kOff;
  } else if (text == "review") {
    out = DynamicRegistration::kReview;
  } else if (text == "open") {
    out = DynamicRegistration::kOpen;
  } else {
    return false;
  }
  return true;
}

AuthorizationServer::AuthorizationServer(store::AuthStore& store, KeyManager& keys,
                                         OAuthOptions options, PatientLabeler labeler,
                                         const base::Clock& clock)
    : store_(store),
      keys_(keys),
      options_(std::move(options)),
      labeler_(std::move(labeler)),
      clock_(clock) {
  options_.issuer = TrimSlash(options_.issuer);
  options_.fhir_base = TrimSlash(options_.fhir_base);
}

bool AuthorizationServer::Handles(std::string_view path) const {
  return base::StartsWith(path, "/oauth/") || path == "/.well-known/openid-configuration" ||
         path == "/.well-known/smart-configuration" ||
         path == "/fhir/.well-known/smart-configuration" ||
         path == "/fhir/.well-known/openid-configuration";
}

http::Response AuthorizationServer::Handle(const http::Request& req) {
  const std::string& p = req.path;
  bool get = req.method == "GET" || req.method == "HEAD";
  if (p == "/fhir/.well-known/smart-configuration" || p == "/.well-known/smart-configuration") {
    if (!get) {
      return OAuthError(405, "invalid_request", "use GET");
    }
    http::Response r;
    r.body = SmartConfiguration();
    r.SetHeader("Content-Type", "application/json");
    r.SetHeader("Access-Control-Allow-Origin", "*");
    return r;
  }
  if (p == "/.well-known/openid-configuration" || p == "/fhir/.well-known/openid-configuration") {
    return OpenIdConfiguration();
  }
  if (p == "/oauth/jwks") {
    return Jwks();
  }
  if (p == "/oauth/authorize") {
    if (!get && req.method != "POST") {
      return Html(405, ErrorPage("Method not allowed", "Use GET or POST."));
    }
    return Authorize(req);
  }
  if (p == "/oauth/login") {
    return Login(req);
  }
  if (p == "/oauth/pick") {
    return Pick(req);
  }
  if (p == "/oauth/consent") {
    return Consent(req);
  }
  if (p == "/oauth/token" || p == "/oauth/introspect" || p == "/oauth/revoke") {
    if (req.method != "POST") {
      return OAuthError(405, "invalid_request", "use POST");
    }
    if (p == "/oauth/token") {
      return Token(req);
    }
    return p == "/oauth/introspect" ? Introspect(req) : Revoke(req);
  }
  if (p == "/oauth/manage" || p == "/oauth/manage/login" || p == "/oauth/manage/revoke" ||
      p == "/oauth/manage/logout") {
    return Manage(req);
  }
  if (p == "/oauth/userinfo") {
    return UserInfo(req);
  }
  if (p == "/oauth/register" && options_.dynamic_registration != DynamicRegistration::kOff) {
    return Register(req);
  }
  return OAuthError(404, "invalid_request", "no such endpoint");
}

namespace {

json::Value StringArray(std::initializer_list<const char*> items) {
  json::Value a = json::Value::MakeArray();
  for (const char* s : items) {
    a.Push(json::Value::String(s));
  }
  return a;
}

// The endpoint URLs both discovery documents publish.
void SetEndpoints(const std::string& i, bool registration, json::Value& v) {
  v.Set("issuer", json::Value::String(i));
  v.Set("jwks_uri", json::Value::String(i + "/oauth/jwks"));
  v.Set("authorization_endpoint", json::Value::String(i + "/oauth/authorize"));
  v.Set("token_endpoint", json::Value::String(i + "/oauth/token"));
  v.Set("introspection_endpoint", json::Value::String(i + "/oauth/introspect"));
  v.Set("revocation_endpoint", json::Value::String(i + "/oauth/revoke"));
  v.Set("userinfo_endpoint", json::Value::String(i + "/oauth/userinfo"));
  if (registration) {
    v.Set("registration_endpoint", json::Value::String(i + "/oauth/register"));
  }
  v.Set("grant_types_supported",
        StringArray({"authorization_code", "refresh_token", "client_credentials"}));
  v.Set("response_types_supported", StringArray({"code"}));
  v.Set("code_challenge_methods_supported", StringArray({"S256"}));
  v.Set("token_endpoint_auth_methods_supported",
        StringArray({"client_secret_basic", "client_secret_post", "private_key_jwt"}));
}

}  // namespace

std::string AuthorizationServer::SmartConfiguration() const {
  json::Value v = json::Value::MakeObject();
  SetEndpoints(options_.issuer, options_.dynamic_registration != DynamicRegistration::kOff, v);
  v.Set("management_endpoint", json::Value::String(options_.issuer + "/oauth/manage"));
  auto arr = StringArray;
  v.Set("token_endpoint_auth_methods", arr({"client_secret_basic", "client_secret_post"}));
  v.Set("token_endpoint_auth_signing_alg_values_supported",
        arr({"RS384", "ES384", "RS256", "ES256"}));
  v.Set("scopes_supported",
        arr({"openid", "fhirUser", "profile", "launch/patient", "offline_access", "online_access",
             "patient/*.read", "patient/*.rs", "patient/Patient.read", "patient/Patient.rs",
             "patient/ExplanationOfBenefit.read", "patient/ExplanationOfBenefit.rs",
             "patient/Coverage.read", "patient/Coverage.rs", "patient/Observation.read",
             "patient/Observation.rs"}));
  v.Set("capabilities",
        arr({"launch-standalone", "client-public", "client-confidential-symmetric",
             "client-confidential-asymmetric", "sso-openid-connect", "context-standalone-patient",
             "permission-offline", "permission-online", "permission-patient", "permission-v1",
             "permission-v2", "authorize-post"}));
  return json::Serialize(v);
}

std::string AuthorizationServer::CapabilitySecurity() const {
  const std::string& i = options_.issuer;
  std::string s =
      R"json({"cors":true,"service":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/restful-security-service","code":"SMART-on-FHIR"}],"text":"OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)"}],"extension":[{"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris","extension":[)json";
  s += R"({"url":"authorize","valueUri":)" + json::Quote(i + "/oauth/authorize") + "},";
  s += R"({"url":"token","valueUri":)" + json::Quote(i + "/oauth/token") + "},";
  s += R"({"url":"introspect","valueUri":)" + json::Quote(i + "/oauth/introspect") + "},";
  s += R"({"url":"revoke","valueUri":)" + json::Quote(i + "/oauth/revoke") + "},";
  s += R"({"url":"manage","valueUri":)" + json::Quote(i + "/oauth/manage") + "}";
  s += "]}],\"description\":\"Every request needs a bearer access token issued by this server's "
       "SMART App Launch authorization server.\"}";
  return s;
}

http::Response AuthorizationServer::OpenIdConfiguration() const {
  json::Value v = json::Value::MakeObject();
  SetEndpoints(options_.issuer, options_.dynamic_registration != DynamicRegistration::kOff, v);
  auto arr = StringArray;
  v.Set("subject_types_supported", arr({"public"}));
  v.Set("id_token_signing_alg_values_supported", arr({"RS256"}));
  v.Set("scopes_supported", arr({"openid", "fhirUser", "profile", "offline_access"}));
  v.Set("claims_supported", arr({"iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"}));
  http::Response r = Json(200, v);
  r.SetHeader("Access-Control-Allow-Origin", "*");
  r.SetHeader("Cache-Control", "public, max-age=300");
  r.headers.erase(std::remove_if(r.headers.begin(), r.headers.end(),
                                 [](const auto& h) { return h.first == "Pragma"; }),
                  r.headers.end());
  return r;
}

http::Response AuthorizationServer::Jwks() {
  auto snap = keys_.Get();
  if (snap == nullptr) {
    return OAuthError(503, "temporarily_unavailable", "signing keys are not available");
  }
  http::Response r;
  r.body = json::Serialize(snap->published.Jwks());
  r.SetHeader("Content-Type", "application/json");
  r.SetHeader("Access-Control-Allow-Origin", "*");
  r.SetHeader("Cache-Control", "public, max-age=300");
  return r;
}

// ---- /authorize -------------------------------------------------------------------------------

http::Response AuthorizationServer::Authorize(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, req.method != "POST")) {
    return Html(400, ErrorPage("Invalid request", "The request is not correctly encoded."));
  }
  std::string client_id = Get(p, "client_id");
  std::string redirect_uri = Get(p, "redirect_uri");
  if (client_id.empty()) {
    return Html(400, ErrorPage("Invalid request", "The app did not say who it is (client_id)."));
  }
  auto client = store_.GetClient(client_id);
  if (!client.ok()) {
    return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
  }
  if (!client->has_value()) {
    return Html(400, ErrorPage("Unknown app", "This app is not registered with your health plan."));
  }
  if (!(*client)->active()) {
    // Suspended, or waiting for review: an error page, never a redirect to the app.
    return Html(403, ErrorPage("App not available",
                               "Your health plan has not approved this app, or has suspended it. "
                               "It cannot connect to your records right now."));
  }
  const store::Client& c = **client;
  if (redirect_uri.empty() || Count(p, "redirect_uri") > 1 ||
      std::find(c.redirect_uris.begin(), c.redirect_uris.end(), redirect_uri) ==
          c.redirect_uris.end()) {
    return Html(400, ErrorPage("Invalid redirect",
                               "The app asked to return to an address it has not registered."));
  }
  // From here on, errors go back to the app.
  std::string state = Get(p, "state");
  for (const char* single : {"response_type", "client_id", "scope", "state", "aud",
                             "code_challenge", "code_challenge_method", "nonce"}) {
    if (Count(p, single) > 1) {
      return RedirectError(redirect_uri, "invalid_request",
                           std::string("parameter repeated: ") + single, state);
    }
  }
  if (Get(p, "response_type") != "code") {
    return RedirectError(redirect_uri, "unsupported_response_type",
                         "only response_type=code is supported", state);
  }
  std::string aud = TrimSlash(Get(p, "aud"));
  if (aud.empty()) {
    aud = TrimSlash(Get(p, "resource"));
  }
  if (aud != options_.fhir_base) {
    return RedirectError(redirect_uri, "invalid_request", "aud must be this server's FHIR base URL",
                         state);
  }
  std::string challenge = Get(p, "code_challenge");
  std::string method = Get(p, "code_challenge_method");
  if (!challenge.empty() || !method.empty()) {
    if (method != "S256") {
      return RedirectError(redirect_uri, "invalid_request", "code_challenge_method must be S256",
                           state);
    }
    if (!IsPkceString(challenge) || challenge.size() != 43) {
      return RedirectError(redirect_uri, "invalid_request", "malformed code_challenge", state);
    }
  } else if (c.type == store::ClientType::kPublic) {
    return RedirectError(redirect_uri, "invalid_request",
                         "public clients must use PKCE (code_challenge with S256)", state);
  }
  auth::ScopeSet scopes = FilterScopes(Get(p, "scope"), c.scope);
  if (scopes.resources.empty() && scopes.others.empty()) {
    return RedirectError(redirect_uri, "invalid_scope", "no supported scope was requested", state);
  }
  std::string tx = Random(24);
  std::string session = CookieValue(req, kSessionCookie);
  bool new_session = session.size() < 32;
  if (new_session) {
    session = Random(32);
  }
  store::AuthRequest ar;
  ar.id_hash = Sha(tx);
  ar.session_hash = Sha(session);
  ar.csrf_token = Random(24);
  ar.client_id = client_id;
  ar.redirect_uri = redirect_uri;
  ar.scope = scopes.ToString();
  ar.state = state;
  ar.nonce = Get(p, "nonce");
  ar.code_challenge = challenge;
  ar.code_challenge_method = method;
  base::Millis now = clock_.NowMillis();
  ar.expires_at = now + options_.auth_request_seconds * 1000LL;
  Status added = tx.empty() ? UnavailableError("no randomness")
                            : store_.AddAuthRequest(ar, now, options_.max_auth_requests_per_session,
                                                    options_.max_auth_requests_per_client);
  if (added.code() == StatusCode::kResourceExhausted) {
    (void)store_.Audit({now, "authorize.limited", client_id, "", "", added.message()});
    return RedirectError(redirect_uri, "temporarily_unavailable",
                         "too many sign-ins in progress; finish one or try again later", state);
  }
  if (!added.ok()) {
    LogStoreFailure("add_auth_request", added);
    return RedirectError(redirect_uri, "temporarily_unavailable", "please try again", state);
  }
  http::Response r = Redirect(options_.issuer + "/oauth/login?tx=" + tx);
  if (new_session) {
    // The cookie is scoped to the pages under the issuer's own path.
    std::string path = "/oauth";
    if (size_t scheme = options_.issuer.find("://"); scheme != std::string::npos) {
      size_t slash = options_.issuer.find('/', scheme + 3);
      if (slash != std::string::npos) {
        path = options_.issuer.substr(slash) + "/oauth";
      }
    }
    r.SetHeader("Set-Cookie", std::string(kSessionCookie) + "=" + session + "; Path=" + path +
                                  "; HttpOnly; SameSite=Lax" +
                                  (options_.secure_cookies ? "; Secure" : ""));
  }
  return r;
}

namespace {

struct TxContext {
  std::string tx;
  store::AuthRequest request;
  store::Client client;
};

}  // namespace

// Loads the authorization request of a page and checks that it belongs to this browser and, for
// posts, carries its CSRF token.
static StatusOr<TxContext> LoadTx(store::AuthStore& store, const base::Clock& clock,
                                  const http::Request& req, const Params& p) {
  TxContext ctx;
  ctx.tx = Get(p, "tx");
  if (ctx.tx.empty()) {
    return InvalidArgumentError(
        "This page needs an authorization request. Start again from the app.");
  }
  auto ar = store.GetAuthRequest(Sha(ctx.tx));
  if (!ar.ok()) {
    return ar.status();
  }
  if (!ar->has_value() || (*ar)->expires_at < clock.NowMillis()) {
    return InvalidArgumentError("This sign-in has expired. Start again from the app.");
  }
  ctx.request = **ar;
  std::string session = CookieValue(req, kSessionCookie);
  if (session.empty() || !base::ConstantTimeEquals(Sha(session), ctx.request.session_hash)) {
    return PermissionDeniedError(
        "This sign-in was started in another browser. Start again from the app.");
  }
  if (req.method == "POST" && !base::ConstantTimeEquals(Get(p, "csrf"), ctx.request.csrf_token)) {
    return PermissionDeniedError("The form has expired. Start again from the app.");
  }
  auto client = store.GetClient(ctx.request.client_id);
  if (!client.ok() || !client->has_value() || !(*client)->active()) {
    return PermissionDeniedError("This app is no longer registered or has been suspended.");
  }
  ctx.client = **client;
  return ctx;
}

http::Response AuthorizationServer::Login(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, true)) {
    return Html(400, ErrorPage("Invalid request", "The request is not correctly encoded."));
  }
  auto ctx = LoadTx(store_, clock_, req, p);
  if (!ctx.ok()) {
    return Html(400, ErrorPage("Cannot continue", ctx.status().message()));
  }
  const std::string app = ctx->client.name.empty() ? ctx->client.client_id : ctx->client.name;
  if (req.method != "POST") {
    return Html(200, LoginPage("/oauth/login", ctx->tx, ctx->request.csrf_token, app, ""));
  }
  std::string username = Get(p, "username");
  std::string password = Get(p, "password");
  base::Millis now = clock_.NowMillis();
  auto user = store_.GetUser(username);
  if (!user.ok()) {
    return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
  }
  const std::string generic = "The username or password is not right.";
  if (!user->has_value()) {
    auth::DummyPasswordCheck(password);
    (void)store_.Audit({now, "login.failed", ctx->client.client_id, "", "", "unknown user"});
    return Html(401, LoginPage("/oauth/login", ctx->tx, ctx->request.csrf_token, app, generic));
  }
  store::User& u = **user;
  if (u.locked_until > now) {
    (void)store_.Audit({now, "login.locked", ctx->client.client_id, u.username, "", ""});
    return Html(429, LoginPage("/oauth/login", ctx->tx, ctx->request.csrf_token, app,
                               "Too many failed attempts. This account is locked for a while; "
                               "try again later or contact member services."));
  }
  if (!auth::VerifyPassword(password, u.password_hash)) {
    base::Millis lock = 0;
    if (u.failed_logins + 1 >= options_.max_failed_logins) {
      // Backoff: the lock doubles with every further failure.
      int extra = u.failed_logins + 1 - options_.max_failed_logins;
      lock = now + options_.lockout_seconds * 1000LL * (1LL << std::min(extra, 6));
    }
    (void)store_.RecordLoginFailure(u.username, lock);
    (void)store_.Audit({now, "login.failed", ctx->client.client_id, u.username, "", ""});
    return Html(401, LoginPage("/oauth/login", ctx->tx, ctx->request.csrf_token, app, generic));
  }
  (void)store_.ResetLoginFailures(u.username);
  (void)store_.Audit({now, "login.succeeded", ctx->client.client_id, u.username, "", ""});
  std::vector<std::string> candidates;
  if (!u.patient_id.empty()) {
    candidates.push_back(u.patient_id);
  }
  for (const std::string& r : u.represents) {
    if (std::find(candidates.begin(), candidates.end(), r) == candidates.end()) {
      candidates.push_back(r);
    }
  }
  if (candidates.empty()) {
    return Html(
        403, ErrorPage("No member record", "This account is not linked to any member's records."));
  }
  store::AuthRequest ar = ctx->request;
  ar.username = u.username;
  // A new CSRF token after login (the pre-login one may have been seen by anyone).
  ar.csrf_token = Random(24);
  if (candidates.size() == 1) {
    ar.patient_id = candidates[0];
  }
  if (!store_.PutAuthRequest(ar).ok()) {
    return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
  }
  return Redirect(options_.issuer +
                  std::string(candidates.size() == 1 ? "/oauth/consent" : "/oauth/pick") +
                  "?tx=" + ctx->tx);
}

http::Response AuthorizationServer::Pick(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, true)) {
    return Html(400, ErrorPage("Invalid request", "The request is not correctly encoded."));
  }
  auto ctx = LoadTx(store_, clock_, req, p);
  if (!ctx.ok()) {
    return Html(400, ErrorPage("Cannot continue", ctx.status().message()));
  }
  if (ctx->request.username.empty()) {
    return Redirect(options_.issuer + "/oauth/login?tx=" + ctx->tx);
  }
  auto user = store_.GetUser(ctx->request.username);
  if (!user.ok() || !user->has_value()) {
    return Html(403, ErrorPage("Cannot continue", "The account is no longer available."));
  }
  std::vector<PickerChoice> choices;
  std::set<std::string> allowed;
  if (!(*user)->patient_id.empty()) {
    allowed.insert((*user)->patient_id);
    choices.push_back({(*user)->patient_id, labeler_((*user)->patient_id) + " (yourself)"});
  }
  for (const std::string& r : (*user)->represents) {
    if (allowed.insert(r).second) {
      choices.push_back({r, labeler_(r)});
    }
  }
  const std::string app = ctx->client.name.empty() ? ctx->client.client_id : ctx->client.name;
  if (req.method != "POST") {
    return Html(200, PickerPage("/oauth/pick", ctx->tx, ctx->request.csrf_token, app, choices, ""));
  }
  std::string patient = Get(p, "patient");
  if (!allowed.count(patient)) {
    return Html(400, PickerPage("/oauth/pick", ctx->tx, ctx->request.csrf_token, app, choices,
                                "Choose one of the members listed."));
  }
  store::AuthRequest ar = ctx->request;
  ar.patient_id = patient;
  if (!store_.PutAuthRequest(ar).ok()) {
    return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
  }
  return Redirect(options_.issuer + "/oauth/consent?tx=" + ctx->tx);
}

http::Response AuthorizationServer::Consent(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, true)) {
    return Html(400, ErrorPage("Invalid request", "The request is not correctly encoded."));
  }
  auto ctx = LoadTx(store_, clock_, req, p);
  if (!ctx.ok()) {
    return Html(400, ErrorPage("Cannot continue", ctx.status().message()));
  }
  const store::AuthRequest& ar = ctx->request;
  if (ar.username.empty()) {
    return Redirect(options_.issuer + "/oauth/login?tx=" + ctx->tx);
  }
  if (ar.patient_id.empty()) {
    return Redirect(options_.issuer + "/oauth/pick?tx=" + ctx->tx);
  }
  auth::ScopeSet requested = auth::ParseScopeString(ar.scope);
  const std::string app = ctx->client.name.empty() ? ctx->client.client_id : ctx->client.name;
  if (req.method != "POST") {
    std::vector<ConsentItem> items;
    bool wildcard = false;
    for (const auth::ResourceScope& s : requested.resources) {
      items.push_back({auth::ToString(s), auth::Describe(s)});
      wildcard = wildcard || s.type == "*";
    }
    for (const std::string& o : requested.others) {
      items.push_back({o, auth::DescribeOther(o)});
    }
    return Html(200,
                ConsentPage("/oauth/consent", ctx->tx, ar.csrf_token, app, labeler_(ar.patient_id),
                            items, requested.others.count("offline_access") > 0, wildcard));
  }
  base::Millis now = clock_.NowMillis();
  std::string decision = Get(p, "decision");
  (void)store_.DeleteAuthRequest(ar.id_hash);
  if (decision != "allow") {
    (void)store_.Audit({now, "consent.denied", ar.client_id, ar.username, ar.patient_id, ""});
    return RedirectError(ar.redirect_uri, "access_denied", "the member denied access", ar.state);
  }
  // Only scopes that were requested, and that the member left ticked.
  std::set<std::string> ticked;
  for (auto [it, end] = p.equal_range("scope"); it != end; ++it) {
    ticked.insert(it->second);
  }
  auth::ScopeSet granted;
  for (const auth::ResourceScope& s : requested.resources) {
    if (ticked.count(auth::ToString(s))) {
      granted.resources.push_back(s);
    }
  }
  for (const std::string& o : requested.others) {
    if (ticked.count(o)) {
      granted.others.insert(o);
    }
  }
  if (!requested.resources.empty() || requested.others.count("launch/patient")) {
    // The patient context is what the member chose; keep launch/patient if it was asked for.
    if (requested.others.count("launch/patient")) {
      granted.others.insert("launch/patient");
    }
  }
  std::string code = Random(32);
  store::AuthCode ac;
  ac.code_hash = Sha(code);
  ac.client_id = ar.client_id;
  ac.redirect_uri = ar.redirect_uri;
  ac.scope = granted.ToString();
  ac.username = ar.username;
  ac.patient_id = ar.patient_id;
  ac.nonce = ar.nonce;
  ac.code_challenge = ar.code_challenge;
  ac.code_challenge_method = ar.code_challenge_method;
  ac.grant_id = Random(18);
  ac.expires_at = now + options_.code_seconds * 1000LL;
  Status stored = code.empty() ? UnavailableError("no randomness")
                               : store_.AddCode(ac, now, options_.max_codes_per_user);
  if (stored.code() == StatusCode::kResourceExhausted) {
    (void)store_.Audit(
        {now, "code.limited", ar.client_id, ar.username, ar.patient_id, stored.message()});
    return RedirectError(ar.redirect_uri, "temporarily_unavailable",
                         "too many unused authorizations for this account; try again later",
                         ar.state);
  }
  if (!stored.ok()) {
    // The store could not take the code (its database unreachable or out of space): the app
    // may try again later, as RFC 6749 section 4.1.2.1 has it.
    LogStoreFailure("add_code", stored);
    return RedirectError(ar.redirect_uri, "temporarily_unavailable", "please try again",
                         ar.state);
  }
  (void)store_.Audit(
      {now, "consent.granted", ar.client_id, ar.username, ar.patient_id, "scope=" + ac.scope});
  std::vector<std::pair<std::string, std::string>> params = {{"code", code}};
  if (!ar.state.empty()) {
    params.emplace_back("state", ar.state);
  }
  return Redirect(AppendParams(ar.redirect_uri, params));
}

// ---- client authentication ---------------------------------------------------------------------

namespace {

struct ClientAuth {
  store::Client client;
  bool used_basic = false;
};

http::Response InvalidClient(bool basic, const std::string& description) {
  http::Response r = OAuthError(401, "invalid_client", description);
  if (basic) {
    r.SetHeader("WWW-Authenticate", "Basic realm=\"portico\"");
  }
  return r;
}

}  // namespace

// The keys of an asymmetric client: registered inline, or fetched from its jwks_uri (cached for
// five minutes per client so a key rotation at the client is picked up soon).
static StatusOr<std::string> ClientJwks(const store::Client& client, const UrlFetcher& fetch,
                                        const base::Clock& clock) {
  if (!client.jwks_json.empty()) {
    return client.jwks_json;
  }
  if (client.jwks_url.empty() || !fetch) {
    return UnauthenticatedError("the client's keys are not available");
  }
  static std::mutex mu;
  static std::map<std::string, std::pair<base::Millis, std::string>> cache;
  base::Millis now = clock.NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(client.client_id + "\n" + client.jwks_url);
    if (it != cache.end() && now - it->second.first < 300000) {
      return it->second.second;
    }
  }
  auto body = fetch(client.jwks_url);
  if (!body.ok()) {
    return UnauthenticatedError("the client's jwks_uri could not be fetched");
  }
  std::lock_guard<std::mutex> lock(mu);
  cache[client.client_id + "\n" + client.jwks_url] = {now, *body};
  return *body;
}

static StatusOr<ClientAuth> AuthenticateClient(store::AuthStore& store, const http::Request& req,
                                               const Params& p, const std::string& token_url,
                                               const base::Clock& clock, bool& used_basic,
                                               const UrlFetcher& fetch) {
  std::string id;
  std::string secret;
  std::string_view authz = req.Header("authorization");
  used_basic = false;
  if (base::StartsWith(base::ToLowerAscii(authz.substr(0, 6)), "basic ")) {
    used_basic = true;
    auto decoded = auth::Base64Decode(base::Trim(authz.substr(6)));
    if (!decoded.ok()) {
      return UnauthenticatedError("malformed Basic credentials");
    }
    size_t colon = decoded->find(':');
    if (colon == std::string::npos) {
      return UnauthenticatedError("malformed Basic credentials");
    }
    auto uid = base::PercentDecode(decoded->substr(0, colon), true);
    auto usec = base::PercentDecode(decoded->substr(colon + 1), true);
    if (!uid || !usec) {
      return UnauthenticatedError("malformed Basic credentials");
    }
    id = *uid;
    secret = *usec;
    if (!Get(p, "client_secret").empty()) {
      return UnauthenticatedError("use one client authentication method");
    }
  } else {
    id = Get(p, "client_id");
    secret = Get(p, "client_secret");
  }
  std::string assertion_type = Get(p, "client_assertion_type");
  std::string assertion = Get(p, "client_assertion");
  if (!assertion.empty() || !assertion_type.empty()) {
    if (assertion_type != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return UnauthenticatedError("unsupported client_assertion_type");
    }
    auto unverified = auth::DecodeJwsUnverified(assertion);
    if (!unverified.ok()) {
      return UnauthenticatedError("malformed client assertion");
    }
    std::string iss(unverified->claims.GetString("iss"));
    if (!id.empty() && id != iss) {
      return UnauthenticatedError("client_id does not match the assertion");
    }
    id = iss;
  }
  if (id.empty()) {
    return UnauthenticatedError("client authentication is required");
  }
  auto client = store.GetClient(id);
  if (!client.ok()) {
    return client.status();
  }
  if (!client->has_value()) {
    return UnauthenticatedError("unknown client");
  }
  if (!(*client)->active()) {
    return UnauthenticatedError("the client is suspended or waiting for review");
  }
  ClientAuth out;
  out.client = **client;
  out.used_basic = used_basic;
  switch (out.client.type) {
    case store::ClientType::kPublic:
      if (!secret.empty() || !assertion.empty()) {
        return UnauthenticatedError("public clients do not authenticate");
      }
      return out;
    case store::ClientType::kConfidentialSymmetric:
      if (secret.empty() || !auth::VerifyClientSecret(secret, out.client.secret_hash)) {
        return UnauthenticatedError("client authentication failed");
      }
      return out;
    case store::ClientType::kConfidentialAsymmetric: {
      if (assertion.empty()) {
        return UnauthenticatedError("this client authenticates with private_key_jwt");
      }
      auto jwks_text = ClientJwks(out.client, fetch, clock);
      if (!jwks_text.ok()) {
        return jwks_text.status();
      }
      auto jwks = json::Parse(*jwks_text);
      if (!jwks.ok()) {
        return UnauthenticatedError("the client's keys are not usable");
      }
      auto keyset = auth::KeySet::FromJwks(*jwks);
      if (!keyset.ok()) {
        return UnauthenticatedError("the client's keys are not usable");
      }
      auto claims = auth::VerifyJws(assertion, *keyset, {"RS384", "ES384", "RS256", "ES256"});
      if (!claims.ok()) {
        return UnauthenticatedError("client assertion signature is not valid");
      }
      Status s = auth::ValidateClaims(*claims, id, token_url, clock.NowMillis() / 1000, 60);
      if (!s.ok() || claims->GetString("sub") != id || claims->GetString("jti").empty()) {
        return UnauthenticatedError("client assertion claims are not valid");
      }
      auto exp = auth::GetNumericDate(*claims, "exp");
      if (!exp.ok() || !exp->has_value() || **exp > clock.NowMillis() / 1000 + 300) {
        return UnauthenticatedError("client assertion lives too long (max 5 minutes)");
      }
      // A client assertion is single use (RFC 7523 section 3): remember its jti until it expires.
      {
        static std::mutex seen_mu;
        static std::map<std::string, int64_t> seen;  // client_id + jti -> exp
        std::lock_guard<std::mutex> lock(seen_mu);
        int64_t now_s = clock.NowMillis() / 1000;
        for (auto it = seen.begin(); it != seen.end();) {
          it = it->second < now_s - 60 ? seen.erase(it) : std::next(it);
        }
        std::string key = id + "\n" + std::string(claims->GetString("jti"));
        if (!seen.emplace(key, **exp).second) {
          return UnauthenticatedError("client assertion was already used");
        }
      }
      return out;
    }
  }
  return UnauthenticatedError("client authentication failed");
}

// ---- /token ---------------------------------------------------------------------------------

std::string AuthorizationServer::FhirUserOf(const store::User& user,
                                            const std::string& patient_id) const {
  std::string ref = user.fhir_user;
  if (ref.empty()) {
    ref = "Patient/" + (user.patient_id.empty() ? patient_id : user.patient_id);
  }
  return options_.fhir_base + "/" + ref;
}

StatusOr<json::Value> AuthorizationServer::IssueTokens(const store::Grant& grant,
                                                       const store::User& user,
                                                       const std::string& scope,
                                                       const std::string& nonce,
                                                       const std::string& refresh_token) {
  auto snap = keys_.Get();
  if (snap == nullptr || snap->access_token_key == nullptr) {
    return UnavailableError("signing keys are not available");
  }
  int64_t now = clock_.NowMillis() / 1000;
  auth::ScopeSet scopes = auth::ParseScopeString(scope);
  std::string fhir_user = FhirUserOf(user, grant.patient_id);
  ASSIGN_OR_RETURN(std::string access_token,
                   SignAccessToken(*snap->access_token_key,
                                   {options_.issuer, options_.fhir_base, grant.username,
                                    grant.client_id, scope, grant.grant_id, grant.patient_id,
                                    fhir_user, now, options_.access_token_seconds}));
  json::Value out = json::Value::MakeObject();
  out.Set("access_token", json::Value::String(access_token));
  out.Set("token_type", json::Value::String("Bearer"));
  out.Set("expires_in", json::Value::Int(options_.access_token_seconds));
  out.Set("scope", json::Value::String(scope));
  out.Set("patient", json::Value::String(grant.patient_id));
  if (scopes.others.count("openid")) {
    json::Value id = json::Value::MakeObject();
    id.Set("iss", json::Value::String(options_.issuer));
    id.Set("sub", json::Value::String(grant.username));
    id.Set("aud", json::Value::String(grant.client_id));
    id.Set("exp", json::Value::Int(now + options_.access_token_seconds));
    id.Set("iat", json::Value::Int(now));
    if (!nonce.empty()) {
      id.Set("nonce", json::Value::String(nonce));
    }
    if (scopes.others.count("fhirUser") || scopes.others.count("profile")) {
      id.Set("fhirUser", json::Value::String(fhir_user));
    }
    ASSIGN_OR_RETURN(std::string id_token, auth::SignJwt(*snap->id_token_key, id));
    out.Set("id_token", json::Value::String(id_token));
  }
  if (!refresh_token.empty()) {
    out.Set("refresh_token", json::Value::String(refresh_token));
  }
  return out;
}

http::Response AuthorizationServer::Token(const http::Request& req) {
  Params p;
  std::string ct = base::ToLowerAscii(req.Header("content-type"));
  if (!base::StartsWith(ct, "application/x-www-form-urlencoded")) {
    return OAuthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  if (!ReadParams(req, p, false)) {
    return OAuthError(400, "invalid_request", "malformed form body");
  }
  for (const char* single : {"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token",
                             "client_id", "client_secret", "scope"}) {
    if (Count(p, single) > 1) {
      return OAuthError(400, "invalid_request", std::string("parameter repeated: ") + single);
    }
  }
  bool used_basic = false;
  auto ca = AuthenticateClient(store_, req, p, options_.issuer + "/oauth/token", clock_, used_basic,
                               options_.fetch_url);
  if (!ca.ok()) {
    if (ca.status().code() != StatusCode::kUnauthenticated) {
      return StoreFailure("client_auth", ca.status());
    }
    return InvalidClient(used_basic, ca.status().message());
  }
  const store::Client& client = ca->client;
  base::Millis now = clock_.NowMillis();
  std::string grant_type = Get(p, "grant_type");
  if (grant_type == "authorization_code") {
    std::string code = Get(p, "code");
    if (code.empty()) {
      return OAuthError(400, "invalid_request", "code is required");
    }
    // The checks run inside the redemption, so that taking the code and storing the grant it
    // issues are one transaction (one durable commit). A failed check still uses up the code.
    std::optional<http::Response> refused;
    std::string refresh;
    store::Grant g;
    auto grant_for = [&](const store::AuthCode& ac) -> std::optional<store::Grant> {
      refused = CheckCodeRedemption(ac, client, p, now);
      if (refused.has_value()) {
        return std::nullopt;
      }
      auth::ScopeSet scopes = auth::ParseScopeString(ac.scope);
      g.grant_id = ac.grant_id;
      g.client_id = ac.client_id;
      g.username = ac.username;
      g.patient_id = ac.patient_id;
      g.scope = ac.scope;
      g.created_at = now;
      g.last_used_at = now;
      if (scopes.others.count("offline_access") || scopes.others.count("online_access")) {
        refresh = Random(32);
        g.refresh_hash = Sha(refresh);
        g.refresh_expires_at =
            scopes.others.count("offline_access")
                ? now + options_.refresh_days * 86400000LL
                : now + options_.access_token_seconds * 1000LL * 16;  // online: a working session
      }
      return g;
    };
    auto taken = store_.RedeemCode(Sha(code), grant_for);
    if (!taken.ok()) {
      return StoreFailure("take_code", taken.status());
    }
    if (!taken->has_value()) {
      return OAuthError(400, "invalid_grant", "unknown authorization code");
    }
    const store::AuthCode& ac = **taken;
    if (ac.used) {
      // A replayed code: revoke everything it issued (RFC 6749 section 4.1.2).
      (void)store_.RevokeGrant(ac.grant_id);
      (void)store_.Audit(
          {now, "code.replayed", ac.client_id, ac.username, ac.patient_id, "grant revoked"});
      return OAuthError(400, "invalid_grant", "the authorization code was already used");
    }
    if (refused.has_value()) {
      return std::move(*refused);
    }
    // A new grant for the same member and app supersedes the oldest beyond the limit, so that
    // launches do not pile up live grants (and refresh tokens) without bound.
    auto superseded = store_.SupersedeGrants(g.username, g.client_id, g.grant_id,
                                             options_.max_grants_per_user_client);
    if (superseded.ok() && *superseded > 0) {
      (void)store_.Audit({now, "grant.superseded", g.client_id, g.username, g.patient_id,
                          std::to_string(*superseded) + " older grants revoked"});
    }
    auto user = store_.GetUser(g.username);
    if (!user.ok()) {
      return IssueFailure(user.status());
    }
    if (!user->has_value()) {
      return IssueFailure(PermissionDeniedError("the account no longer exists"));
    }
    auto issued = IssueTokens(g, **user, g.scope, ac.nonce, refresh);
    if (!issued.ok()) {
      return IssueFailure(issued.status());
    }
    AuditAsync({now, "token.issued", g.client_id, g.username, g.patient_id, "grant=" + g.grant_id});
    return Json(200, *issued);
  }
  if (grant_type == "refresh_token") {
    std::string refresh = Get(p, "refresh_token");
    if (refresh.empty()) {
      return OAuthError(400, "invalid_request", "refresh_token is required");
    }
    auto found = store_.FindGrantByRefresh(Sha(refresh));
    if (!found.ok()) {
      return StoreFailure("find_grant", found.status());
    }
    if (!found->has_value()) {
      return OAuthError(400, "invalid_grant", "unknown refresh token");
    }
    store::Grant g = **found;
    if (g.revoked || g.refresh_expires_at < now) {
      return OAuthError(400, "invalid_grant", "the refresh token is no longer valid");
    }
    if (g.client_id != client.client_id) {
      return OAuthError(400, "invalid_grant", "the refresh token belongs to another client");
    }
    // The member (or delegate relationship) must still exist.
    auto user = store_.GetUser(g.username);
    bool still = user.ok() && user->has_value() &&
                 ((*user)->patient_id == g.patient_id ||
                  std::find((*user)->represents.begin(), (*user)->represents.end(), g.patient_id) !=
                      (*user)->represents.end());
    if (!still) {
      (void)store_.RevokeGrant(g.grant_id);
      return OAuthError(400, "invalid_grant", "access to this member's records has ended");
    }
    std::string scope = g.scope;
    if (std::string requested = Get(p, "scope"); !requested.empty()) {
      auth::ScopeSet narrowed =
          auth::Narrow(auth::ParseScopeString(requested), auth::ParseScopeString(g.scope));
      auth::ScopeSet granted_set = auth::ParseScopeString(g.scope);
      auth::ScopeSet req_set = auth::ParseScopeString(requested);
      bool others_ok =
          std::all_of(req_set.others.begin(), req_set.others.end(),
                      [&](const std::string& o) { return granted_set.others.count(o); });
      if (!narrowed.invalid.empty() || !req_set.invalid.empty() || !others_ok) {
        return OAuthError(400, "invalid_scope", "a refresh may only narrow the granted scope");
      }
      narrowed.others = req_set.others;
      scope = narrowed.ToString();
    }
    std::string next = Random(32);
    base::Millis expires = g.refresh_expires_at;
    if (auth::ParseScopeString(g.scope).others.count("offline_access")) {
      expires =
          std::max<base::Millis>(expires, now + options_.refresh_days * 86400000LL);  // sliding
    }
    auto rotated = store_.RotateRefresh(g.grant_id, g.refresh_hash, Sha(next), expires, now);
    if (!rotated.ok()) {
      return StoreFailure("rotate_refresh", rotated.status());
    }
    if (!*rotated) {
      return OAuthError(400, "invalid_grant", "the refresh token was already used");
    }
    // The member looked up above: a second lookup after the rotation's commit would start a
    // fresh read of the changed database.
    auto issued = IssueTokens(g, **user, scope, "", next);
    if (!issued.ok()) {
      return IssueFailure(issued.status());
    }
    AuditAsync(
        {now, "token.refreshed", g.client_id, g.username, g.patient_id, "grant=" + g.grant_id});
    return Json(200, *issued);
  }
  if (grant_type == "client_credentials") {
    // SMART Backend Services: a payer system with a registered key set asks for system/ scopes.
    if (client.type != store::ClientType::kConfidentialAsymmetric) {
      return OAuthError(400, "unauthorized_client",
                        "client_credentials requires private_key_jwt client authentication");
    }
    auth::ScopeSet requested = auth::ParseScopeString(Get(p, "scope"));
    auth::ScopeSet allowed = auth::ParseScopeString(client.scope);
    auth::ScopeSet system;
    for (const auth::ResourceScope& rs : requested.resources) {
      if (rs.context == auth::Context::kSystem) {
        system.resources.push_back(rs);
      }
    }
    auth::ScopeSet granted = auth::Narrow(system, allowed);
    if (granted.resources.empty()) {
      return OAuthError(400, "invalid_scope",
                        "request system/ scopes that this client is registered for");
    }
    granted.invalid.clear();
    auto snap = keys_.Get();
    if (snap == nullptr || snap->access_token_key == nullptr) {
      return OAuthError(503, "temporarily_unavailable", "signing keys are not available");
    }
    store::Grant g;
    g.grant_id = Random(18);
    g.client_id = client.client_id;
    g.username = "client:" + client.client_id;
    g.scope = granted.ToString();
    g.created_at = now;
    g.last_used_at = now;
    if (Status put = store_.PutGrant(g); !put.ok()) {
      return StoreFailure("put_grant", put);
    }
    int64_t now_s = now / 1000;
    int lifetime = std::min(options_.access_token_seconds, 300);  // backend tokens: 5 minutes
    auto token = SignAccessToken(*snap->access_token_key,
                                 {options_.issuer, options_.fhir_base, client.client_id,
                                  client.client_id, g.scope, g.grant_id, "", "", now_s, lifetime});
    if (!token.ok()) {
      return OAuthError(500, "server_error", "could not issue tokens");
    }
    json::Value out = json::Value::MakeObject();
    out.Set("access_token", json::Value::String(*token));
    out.Set("token_type", json::Value::String("Bearer"));
    out.Set("expires_in", json::Value::Int(lifetime));
    out.Set("scope", json::Value::String(g.scope));
    AuditAsync({now, "token.issued", g.client_id, g.username, "",
                "client_credentials grant=" + g.grant_id});
    return Json(200, out);
  }
  if (grant_type.empty()) {
    return OAuthError(400, "invalid_request", "grant_type is required");
  }
  return OAuthError(400, "unsupported_grant_type",
                    "supported: authorization_code, refresh_token, client_credentials");
}

// ---- introspection, revocation, userinfo ------------------------------------------------------

StatusOr<std::shared_ptr<const json::Value>> AuthorizationServer::VerifyAccessToken(
    const std::string& token) {
  int64_t now = clock_.NowMillis() / 1000;
  std::string key = verified_.KeyOf(token);
  // An entry ends when its token expires (exp plus the leeway), so a hit needs no new check:
  // iss and aud do not change, and nbf had passed when the entry was made.
  std::shared_ptr<const json::Value> claims = verified_.Find(key, now);
  if (claims == nullptr) {
    ASSIGN_OR_RETURN(json::Value verified,
                     oauth::VerifyAccessToken(keys_, token, options_.issuer, options_.fhir_base,
                                              now, kClaimLeewaySeconds));
    ASSIGN_OR_RETURN(std::optional<int64_t> exp, auth::GetNumericDate(verified, "exp"));
    claims = std::make_shared<const json::Value>(std::move(verified));
    verified_.Put(std::move(key), claims, exp.value_or(now) + kClaimLeewaySeconds, now);
  }
  return claims;
}

http::Response AuthorizationServer::Introspect(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, false)) {
    return OAuthError(400, "invalid_request", "malformed form body");
  }
  bool used_basic = false;
  auto ca = AuthenticateClient(store_, req, p, options_.issuer + "/oauth/introspect", clock_,
                               used_basic, options_.fetch_url);
  if (!ca.ok()) {
    // A resource server may also introspect with a valid access token of its own.
    std::string_view authz = req.Header("authorization");
    bool bearer_ok = false;
    if (base::StartsWith(base::ToLowerAscii(authz.substr(0, 7)), "bearer ")) {
      auto claims = VerifyAccessToken(std::string(base::Trim(authz.substr(7))));
      bearer_ok = claims.ok();
    }
    if (!bearer_ok) {
      return InvalidClient(used_basic, ca.status().message());
    }
  }
  std::string token = Get(p, "token");
  json::Value out = json::Value::MakeObject();
  out.Set("active", json::Value::Bool(false));
  if (token.empty()) {
    return Json(200, out);
  }
  base::Millis now = clock_.NowMillis();
  if (token.find('.') != std::string::npos) {
    auto claims = VerifyAccessToken(token);
    if (claims.ok()) {
      std::string gid((*claims)->GetString("gid"));
      auto active = store_.GrantActive(gid);
      if (active.ok() && *active) {
        json::Value r = json::Value::MakeObject();
        r.Set("active", json::Value::Bool(true));
        for (const char* k : {"scope", "client_id", "sub", "iss", "patient", "fhirUser", "jti"}) {
          if (const json::Value* v = (*claims)->Find(k)) {
            r.Set(k, *v);
          }
        }
        for (const char* k : {"exp", "iat", "aud"}) {
          if (const json::Value* v = (*claims)->Find(k)) {
            r.Set(k, *v);
          }
        }
        r.Set("username", json::Value::String(std::string((*claims)->GetString("sub"))));
        r.Set("token_type", json::Value::String("Bearer"));
        return Json(200, r);
      }
    }
    return Json(200, out);
  }
  auto grant = store_.FindGrantByRefresh(Sha(token));
  if (grant.ok() && grant->has_value() && !(*grant)->revoked &&
      (*grant)->refresh_expires_at > now) {
    // Revoked, or its client suspended: not active.
    auto live = store_.GrantActive((*grant)->grant_id);
    if (!live.ok() || !*live) {
      return Json(200, out);
    }
    const store::Grant& g = **grant;
    json::Value r = json::Value::MakeObject();
    r.Set("active", json::Value::Bool(true));
    r.Set("scope", json::Value::String(g.scope));
    r.Set("client_id", json::Value::String(g.client_id));
    r.Set("sub", json::Value::String(g.username));
    r.Set("patient", json::Value::String(g.patient_id));
    r.Set("exp", json::Value::Int(g.refresh_expires_at / 1000));
    r.Set("iat", json::Value::Int(g.created_at / 1000));
    r.Set("token_type", json::Value::String("refresh_token"));
    return Json(200, r);
  }
  return Json(200, out);
}

http::Response AuthorizationServer::Revoke(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, false)) {
    return OAuthError(400, "invalid_request", "malformed form body");
  }
  bool used_basic = false;
  auto ca = AuthenticateClient(store_, req, p, options_.issuer + "/oauth/revoke", clock_,
                               used_basic, options_.fetch_url);
  if (!ca.ok()) {
    return InvalidClient(used_basic, ca.status().message());
  }
  std::string token = Get(p, "token");
  if (token.empty()) {
    return OAuthError(400, "invalid_request", "token is required");
  }
  base::Millis now = clock_.NowMillis();
  std::string grant_id;
  if (token.find('.') != std::string::npos) {
    auto claims = VerifyAccessToken(token);
    if (claims.ok() && (*claims)->GetString("client_id") == ca->client.client_id) {
      grant_id = std::string((*claims)->GetString("gid"));
    }
  } else {
    auto grant = store_.FindGrantByRefresh(Sha(token));
    if (grant.ok() && grant->has_value() && (*grant)->client_id == ca->client.client_id) {
      grant_id = (*grant)->grant_id;
    }
  }
  if (!grant_id.empty()) {
    (void)store_.RevokeGrant(grant_id);
    (void)store_.Audit({now, "grant.revoked", ca->client.client_id, "", "", "by client"});
  }
  http::Response r;
  r.status = 200;
  r.SetHeader("Cache-Control", "no-store");
  return r;  // RFC 7009: 200 whether or not the token was known
}

http::Response AuthorizationServer::UserInfo(const http::Request& req) {
  std::string_view authz = req.Header("authorization");
  if (!base::StartsWith(base::ToLowerAscii(authz.substr(0, 7)), "bearer ")) {
    http::Response r = OAuthError(401, "invalid_token", "a bearer token is required");
    r.SetHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  auto claims = VerifyAccessToken(std::string(base::Trim(authz.substr(7))));
  bool active = false;
  if (claims.ok()) {
    auto a = store_.GrantActive(std::string((*claims)->GetString("gid")));
    active = a.ok() && *a;
  }
  if (!active) {
    http::Response r = OAuthError(401, "invalid_token", "the token is not valid");
    r.SetHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  auth::ScopeSet scopes = auth::ParseScopeString((*claims)->GetString("scope"));
  if (!scopes.others.count("openid")) {
    http::Response r = OAuthError(403, "insufficient_scope", "the openid scope is required");
    r.SetHeader("WWW-Authenticate", "Bearer error=\"insufficient_scope\", scope=\"openid\"");
    return r;
  }
  json::Value out = json::Value::MakeObject();
  out.Set("sub", json::Value::String(std::string((*claims)->GetString("sub"))));
  out.Set("fhirUser", json::Value::String(std::string((*claims)->GetString("fhirUser"))));
  return Json(200, out);
}

// ---- dynamic client registration (RFC 7591) ---------------------------------------------------

http::Response AuthorizationServer::Register(const http::Request& req) {
  if (req.method != "POST") {
    http::Response r = OAuthError(405, "invalid_request", "use POST");
    r.SetHeader("Allow", "POST");
    return r;
  }
  std::string ct = base::ToLowerAscii(req.Header("content-type"));
  if (!base::StartsWith(ct, "application/json")) {
    return OAuthError(400, "invalid_client_metadata", "the body must be application/json");
  }
  auto body = json::Parse(req.body);
  if (!body.ok()) {
    return OAuthError(400, "invalid_client_metadata", "the body is not valid JSON");
  }
  base::Millis now = clock_.NowMillis();
  bool review = options_.dynamic_registration == DynamicRegistration::kReview;
  MetadataPolicy policy;
  policy.member_apps_only = true;
  Registration reg = PrepareRegistration(
      *body, policy, "dynamic",
      review ? store::ClientStatus::kPending : store::ClientStatus::kActive, now);
  if (reg.error.has_value()) {
    int status = reg.error->error == "temporarily_unavailable" ? 503 : 400;
    return OAuthError(status, reg.error->error, reg.error->description);
  }
  if (Status put = store_.PutClient(reg.created.client); !put.ok()) {
    return StoreFailure("put_client", put);
  }
  (void)store_.Audit(
      {now, "client.registered", reg.created.client.client_id, "", "",
       std::string("dynamic status=") + store::ClientStatusName(reg.created.client.status)});
  return Json(201, RegistrationResponse(reg.created));
}

// ---- member app management (SMART management_endpoint) --------------------------------------

namespace {

constexpr const char* kManageCookie = "portico_manage";
constexpr const char* kManageClient = "portico-manage";

}  // namespace

http::Response AuthorizationServer::Manage(const http::Request& req) {
  Params p;
  if (!ReadParams(req, p, req.method != "POST")) {
    return Html(400, ErrorPage("Invalid request", "The request is not correctly encoded."));
  }
  base::Millis now = clock_.NowMillis();
  std::string cookie_path = "/oauth";
  if (size_t scheme = options_.issuer.find("://"); scheme != std::string::npos) {
    size_t slash = options_.issuer.find('/', scheme + 3);
    if (slash != std::string::npos) {
      cookie_path = options_.issuer.substr(slash) + "/oauth";
    }
  }
  const std::string secure = options_.secure_cookies ? "; Secure" : "";
  // A signed-in member has a manage session: an AuthRequest record keyed by the cookie's hash.
  std::optional<store::AuthRequest> session;
  if (std::string token = CookieValue(req, kManageCookie); token.size() >= 32) {
    auto found = store_.GetAuthRequest(Sha("manage\n" + token));
    if (found.ok() && found->has_value() && (*found)->client_id == kManageClient &&
        (*found)->expires_at > now && !(*found)->username.empty()) {
      session = **found;
    }
  }
  if (req.path == "/oauth/manage/login" && req.method == "POST") {
    // The login form carries a pre-login record (tx) bound to this browser and its CSRF token.
    auto pre = store_.GetAuthRequest(Sha(Get(p, "tx")));
    std::string browser = CookieValue(req, kSessionCookie);
    if (!pre.ok() || !pre->has_value() || (*pre)->client_id != kManageClient ||
        (*pre)->expires_at < now || browser.empty() ||
        !base::ConstantTimeEquals(Sha(browser), (*pre)->session_hash) ||
        !base::ConstantTimeEquals(Get(p, "csrf"), (*pre)->csrf_token)) {
      return Html(400, ErrorPage("Cannot continue", "The form has expired. Open the page again."));
    }
    auto user = store_.GetUser(Get(p, "username"));
    std::string password = Get(p, "password");
    bool ok = user.ok() && user->has_value() && (*user)->locked_until <= now &&
              auth::VerifyPassword(password, (*user)->password_hash);
    if (user.ok() && !user->has_value()) {
      auth::DummyPasswordCheck(password);
    }
    if (!ok) {
      if (user.ok() && user->has_value() && (*user)->locked_until <= now) {
        int failures = (*user)->failed_logins + 1;
        base::Millis lock =
            failures >= options_.max_failed_logins ? now + options_.lockout_seconds * 1000LL : 0;
        (void)store_.RecordLoginFailure((*user)->username, lock);
      }
      return Html(401, LoginPage("/oauth/manage/login", Get(p, "tx"), (*pre)->csrf_token,
                                 "Your connected apps", "The username or password is not right."));
    }
    (void)store_.ResetLoginFailures((*user)->username);
    (void)store_.DeleteAuthRequest((*pre)->id_hash);
    std::string token = Random(32);
    store::AuthRequest s;
    s.id_hash = Sha("manage\n" + token);
    s.session_hash = Sha(browser);
    s.csrf_token = Random(24);
    s.client_id = kManageClient;
    s.username = (*user)->username;
    s.expires_at = now + options_.auth_request_seconds * 1000LL;
    if (!store_.PutAuthRequest(s).ok()) {
      return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
    }
    http::Response r = Redirect(options_.issuer + "/oauth/manage");
    r.SetHeader("Set-Cookie", std::string(kManageCookie) + "=" + token + "; Path=" + cookie_path +
                                  "/manage; HttpOnly; SameSite=Strict" + secure);
    return r;
  }
  if (!session) {
    // Not signed in: show the login form for this page.
    auto form = StartSignIn(store_, CookieValue(req, kSessionCookie), kManageClient,
                            now + options_.auth_request_seconds * 1000LL);
    if (!form) {
      return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
    }
    http::Response r = Html(
        200, LoginPage("/oauth/manage/login", form->tx, form->csrf, "Your connected apps", ""));
    if (form->new_browser) {
      r.SetHeader("Set-Cookie", std::string(kSessionCookie) + "=" + form->browser +
                                    "; Path=" + cookie_path + "; HttpOnly; SameSite=Lax" + secure);
    }
    return r;
  }
  // The records this user controls: their own and those of the members they act for. Every app
  // that holds access to one of them is listed, whoever connected it (a member sees the apps a
  // delegate connected to their record, and each parent those the other connected for a child).
  std::vector<std::string> controlled;
  {
    auto user = store_.GetUser(session->username);
    if (!user.ok()) {
      return Html(503, ErrorPage("Try again later", "The service is temporarily unavailable."));
    }
    if (user->has_value()) {
      if (!(*user)->patient_id.empty()) {
        controlled.push_back((*user)->patient_id);
      }
      for (const std::string& r : (*user)->represents) {
        if (std::find(controlled.begin(), controlled.end(), r) == controlled.end()) {
          controlled.push_back(r);
        }
      }
    }
  }
  auto controls = [&controlled](const std::string& patient_id) {
    return std::find(controlled.begin(), controlled.end(), patient_id) != controlled.end();
  };
  if (req.method == "POST") {
    if (!base::ConstantTimeEquals(Get(p, "csrf"), session->csrf_token)) {
      return Html(400, ErrorPage("Cannot continue", "The form has expired. Open the page again."));
    }
    if (req.path == "/oauth/manage/logout") {
      (void)store_.DeleteAuthRequest(session->id_hash);
      http::Response r = Redirect(options_.issuer + "/oauth/manage");
      r.SetHeader("Set-Cookie", std::string(kManageCookie) + "=; Path=" + cookie_path +
                                    "/manage; Max-Age=0; HttpOnly; SameSite=Strict" + secure);
      return r;
    }
    if (req.path == "/oauth/manage/revoke") {
      auto grant = store_.GetGrant(Get(p, "grant"));
      if (!grant.ok() || !grant->has_value() || !controls((*grant)->patient_id)) {
        return Html(404, ErrorPage("Not found", "That access grant is not yours."));
      }
      (void)store_.RevokeGrant((*grant)->grant_id);
      (void)store_.Audit({now, "grant.revoked", (*grant)->client_id, session->username,
                          (*grant)->patient_id, "by member"});
      return Redirect(options_.issuer + "/oauth/manage");
    }
    return Html(405, ErrorPage("Not allowed", "Use the buttons on the page."));
  }
  // The dashboard: live grants with revoke buttons, then recent access history.
  auto grants = store_.ListGrantsForPatients(controlled);
  auto audit = store_.ListAuditForPatients(
      controlled,
      {"fhir.access", "token.issued", "token.refreshed", "consent.granted", "grant.revoked"}, 100);
  // What the member sees for a patient id and for a client id, each looked up once.
  std::map<std::string, std::string> labels;
  auto label = [&](const std::string& patient_id) -> const std::string& {
    auto it = labels.find(patient_id);
    if (it == labels.end()) {
      it = labels.emplace(patient_id, labeler_(patient_id)).first;
    }
    return it->second;
  };
  std::map<std::string, std::string> apps;
  auto app_name = [&](const std::string& client_id) -> const std::string& {
    auto it = apps.find(client_id);
    if (it == apps.end()) {
      auto client = store_.GetClient(client_id);
      bool named = client.ok() && client->has_value() && !(*client)->name.empty();
      it = apps.emplace(client_id, named ? (*client)->name : client_id).first;
    }
    return it->second;
  };
  std::string body =
      "<h1>Your connected apps</h1><p>Apps that can read health plan records "
      "you control. Revoking stops an app at once.</p>";
  body +=
      "<table><tr><th>App</th><th>Member</th><th>Access</th><th>Granted</th>"
      "<th>Last used</th><th>Expires</th><th></th></tr>";
  int live = 0;
  if (grants.ok()) {
    for (const store::Grant& g : *grants) {
      bool has_refresh = !g.refresh_hash.empty() && g.refresh_expires_at > now;
      bool access_alive = now - g.last_used_at < options_.access_token_seconds * 1000LL;
      if (g.revoked || (!has_refresh && !access_alive)) {
        continue;
      }
      ++live;
      const std::string& app = app_name(g.client_id);
      std::string scopes;
      for (const auth::ResourceScope& rs : auth::ParseScopeString(g.scope).resources) {
        scopes += "<li>" + HtmlEscape(auth::Describe(rs)) + "</li>";
      }
      body += "<tr><td>" + HtmlEscape(app) + "</td><td>" + HtmlEscape(label(g.patient_id)) +
              "</td><td><ul>" + scopes + "</ul></td><td>" + FormatWhen(g.created_at) + "</td><td>" +
              FormatWhen(g.last_used_at) + "</td><td>" +
              (has_refresh ? FormatWhen(g.refresh_expires_at) : std::string("when you sign out")) +
              "</td><td><form method=\"post\" action=\"/oauth/manage/revoke\">"
              "<input type=\"hidden\" name=\"csrf\" value=\"" +
              HtmlEscape(session->csrf_token) +
              "\"><input type=\"hidden\" name=\"grant\" value=\"" + HtmlEscape(g.grant_id) +
              "\"><button type=\"submit\" name=\"revoke\" value=\"" + HtmlEscape(g.grant_id) +
              "\">Revoke</button></form></td></tr>";
    }
  }
  body += "</table>";
  if (live == 0) {
    body += "<p>No app has access right now.</p>";
  }
  body +=
      "<h2>Access history</h2><table><tr><th>When</th><th>App</th><th>Member</th>"
      "<th>What</th></tr>";
  if (audit.ok()) {
    for (const store::AuditEvent& e : *audit) {
      const std::string& app = app_name(e.client_id);
      std::string what = e.event == "fhir.access" ? e.detail : e.event;
      body += "<tr><td>" + FormatWhen(e.at) + "</td><td>" + HtmlEscape(app) + "</td><td>" +
              HtmlEscape(label(e.patient_id)) + "</td><td>" + HtmlEscape(what) + "</td></tr>";
    }
  }
  body +=
      "</table><form method=\"post\" action=\"/oauth/manage/logout\"><input "
      "type=\"hidden\" name=\"csrf\" value=\"" +
      HtmlEscape(session->csrf_token) + "\"><button type=\"submit\">Sign out</button></form>";
  return Html(200, ManagePage(body));
}

}  // namespace portico::oauth
