#include "src/oauth/admin_server.h"

#include <algorithm>
#include <map>
#include <optional>

#include "src/auth/base64url.h"
#include "src/auth/password.h"
#include "src/base/digest.h"
#include "src/base/strings.h"
#include "src/json/json.h"
#include "src/oauth/client_metadata.h"
#include "src/oauth/handler_util.h"
#include "src/oauth/pages.h"

namespace portico::oauth {

namespace {

constexpr const char* kSessionCookie = "portico_admin";          // a signed-in operator
constexpr const char* kBrowserCookie = "portico_admin_browser";  // binds the sign-in form
constexpr const char* kSessionClient = "portico-admin";  // marks admin records in auth_request
constexpr std::string_view kApiPrefix = "/admin/api/clients";
constexpr std::string_view kClientPagePrefix = "/admin/clients/";

http::Response Json(int status, const json::Value& v) { return JsonResponse(status, v); }

http::Response ApiError(int status, const std::string& error, const std::string& description) {
  return ErrorResponse(status, error, description);
}

http::Response Redirect(const std::string& location) { return RedirectResponse(303, location); }

std::string E(std::string_view s) { return HtmlEscape(s); }

std::string ClientPath(const std::string& client_id) {
  return std::string(kClientPagePrefix) + base::PercentEncode(client_id);
}

std::vector<std::string> Lines(std::string_view text, bool commas) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string_view t = base::Trim(cur);
    if (!t.empty()) {
      out.emplace_back(t);
    }
    cur.clear();
  };
  for (char c : text) {
    if (c == '\n' || c == '\r' || (commas && c == ',')) {
      flush();
    } else {
      cur.push_back(c);
    }
  }
  flush();
  return out;
}

// The register form as RFC 7591 metadata.
json::Value FormToMetadata(const Params& p) {
  json::Value v = json::Value::MakeObject();
  v.Set("client_name", json::Value::String(std::string(base::Trim(Get(p, "client_name")))));
  for (const char* key : {"client_uri", "policy_uri", "tos_uri", "logo_uri", "scope",
                          "token_endpoint_auth_method", "jwks_uri"}) {
    std::string value(base::Trim(Get(p, key)));
    if (!value.empty()) {
      v.Set(key, json::Value::String(value));
    }
  }
  json::Value uris = json::Value::MakeArray();
  for (std::string& u : Lines(Get(p, "redirect_uris"), false)) {
    uris.Push(json::Value::String(std::move(u)));
  }
  v.Set("redirect_uris", std::move(uris));
  json::Value contacts = json::Value::MakeArray();
  for (std::string& c : Lines(Get(p, "contacts"), true)) {
    contacts.Push(json::Value::String(std::move(c)));
  }
  v.Set("contacts", std::move(contacts));
  json::Value att = json::Value::MakeObject();
  for (const AttestationQuestion& q : AttestationQuestions()) {
    std::string answer = Get(p, "attest_" + std::string(q.key));
    if (answer == "yes" || answer == "no") {
      att.Set(q.key, json::Value::Bool(answer == "yes"));
    }
  }
  v.Set("attestation", std::move(att));
  return v;
}

std::string HiddenCsrf(const std::string& csrf) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + E(csrf) + "\">";
}

std::string StatusCell(store::ClientStatus s) {
  const char* name = store::ClientStatusName(s);
  return std::string("<span class=\"status-") + name + "\">" + name + "</span>";
}

std::string Nav(const std::string& csrf, const std::string& operator_name) {
  return "<p><a href=\"/admin\">Apps</a> · <a href=\"/admin/register\">Register an app</a> · "
         "signed in as " +
         E(operator_name) + " <form class=\"inline\" method=\"post\" action=\"/admin/logout\">" +
         HiddenCsrf(csrf) + "<button type=\"submit\">Sign out</button></form></p>";
}

std::string LoginBody(const std::string& tx, const std::string& csrf, const std::string& error) {
  std::string body =
      "<h1>Operator sign-in</h1><p>Manage the apps registered with this "
      "Patient Access API.</p>";
  if (!error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + E(error) + "</p>";
  }
  body +=
      "<form method=\"post\" action=\"/admin/login\"><input type=\"hidden\" name=\"tx\" "
      "value=\"" +
      E(tx) + "\">" + HiddenCsrf(csrf) +
      "<label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\" "
      "required autofocus></label><label>Password <input type=\"password\" "
      "name=\"password\" autocomplete=\"current-password\" required></label>"
      "<button type=\"submit\">Sign in</button></form>";
  return body;
}

std::string RegisterBody(const std::string& csrf, const std::string& operator_name,
                         const Params& values, const std::string& error) {
  auto val = [&](const char* key) { return E(Get(values, key)); };
  auto text = [&](const char* key, const char* label, const char* type, bool required) {
    return std::string("<label>") + label + " <input type=\"" + type + "\" name=\"" + key +
           "\" value=\"" + val(key) + "\"" + (required ? " required" : "") + "></label>";
  };
  std::string body = Nav(csrf, operator_name) + "<h1>Register an app</h1>";
  if (!error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + E(error) + "</p>";
  }
  std::string method = Get(values, "token_endpoint_auth_method");
  if (method.empty()) {
    method = "client_secret_basic";
  }
  body += "<form method=\"post\" action=\"/admin/register\">" + HiddenCsrf(csrf) +
          text("client_name", "App name (shown to members)", "text", true) +
          text("client_uri", "Home page", "url", false) +
          text("policy_uri", "Privacy policy", "url", false) +
          text("tos_uri", "Terms of service", "url", false) +
          text("logo_uri", "Logo", "url", false) +
          "<label>Redirect URIs (one per line) <textarea name=\"redirect_uris\" rows=\"3\" "
          "required>" +
          val("redirect_uris") +
          "</textarea></label><label>Contacts (e-mail addresses, one per line) <textarea "
          "name=\"contacts\" rows=\"2\">" +
          val("contacts") + "</textarea></label>" +
          text("scope", "Scopes the app may ask for (empty: any member scope)", "text", false) +
          "<fieldset><legend>How the app authenticates</legend>";
  for (const auto& [value, label] : std::vector<std::pair<std::string, std::string>>{
           {"client_secret_basic", "Client secret (a confidential server-side app)"},
           {"private_key_jwt", "Signed assertion with its own keys (private_key_jwt)"},
           {"none", "None: a public app (mobile or browser), PKCE only"}}) {
    body += "<label><input type=\"radio\" name=\"token_endpoint_auth_method\" value=\"" + value +
            "\"" + (method == value ? " checked" : "") + "> " + E(label) + "</label>";
  }
  body += text("jwks_uri", "JWKS URI (private_key_jwt only)", "url", false) + "</fieldset>";
  body += "<fieldset><legend>The app's answers</legend>";
  for (const AttestationQuestion& q : AttestationQuestions()) {
    std::string name = "attest_" + std::string(q.key);
    std::string answer = Get(values, name);
    body += "<p>" + E(q.text) + "</p>";
    for (const char* choice : {"yes", "no"}) {
      body += "<label class=\"inline\"><input type=\"radio\" name=\"" + E(name) + "\" value=\"" +
              choice + "\"" + (answer == choice ? " checked" : "") + " required> " +
              (std::string_view(choice) == "yes" ? "Yes" : "No") + "</label>";
    }
  }
  body += "</fieldset><button type=\"submit\">Register</button></form>";
  return body;
}

std::string ClientBody(const store::Client& c, const std::string& csrf,
                       const std::string& operator_name, const std::string& secret) {
  std::string body = Nav(csrf, operator_name);
  body += "<h1>" + E(c.name.empty() ? c.client_id : c.name) + "</h1>";
  if (!secret.empty()) {
    body +=
        "<p class=\"note\">Registered. The client secret is shown only now; give it to the "
        "app's developers over a safe channel.</p><p>client_secret: <span class=\"secret\" "
        "id=\"client-secret\">" +
        E(secret) + "</span></p>";
  }
  auto row = [](const char* label, const std::string& escaped) {
    return std::string("<tr><th>") + label + "</th><td>" + escaped + "</td></tr>";
  };
  auto list = [](const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) {
      out += (out.empty() ? "" : "<br>") + E(s);
    }
    return out.empty() ? std::string("-") : out;
  };
  auto or_dash = [](const std::string& s) { return s.empty() ? std::string("-") : E(s); };
  body += "<table>";
  body += row("client_id", "<code id=\"client-id\">" + E(c.client_id) + "</code>");
  body += row("Status", "<span id=\"client-status\">" + StatusCell(c.status) + "</span>");
  body += row("Registered", FormatWhen(c.created_at));
  body += row("Registered by", or_dash(c.registered_by));
  body += row("Last changed", FormatWhen(c.updated_at));
  body += row("Authentication", E(AuthMethodOf(c.type)));
  body += row("Redirect URIs", list(c.redirect_uris));
  body += row("Scopes", c.scope.empty() ? std::string("any member scope") : E(c.scope));
  body += row("Home page", or_dash(c.client_uri));
  body += row("Privacy policy", or_dash(c.policy_uri));
  body += row("Terms of service", or_dash(c.tos_uri));
  body += row("Logo", or_dash(c.logo_uri));
  body += row("Contacts", list(c.contacts));
  body += row("JWKS", !c.jwks_url.empty()    ? E(c.jwks_url)
                      : !c.jwks_json.empty() ? std::string("registered inline")
                                             : std::string("-"));
  body += "</table><h2>Attestation</h2><table>";
  auto answers = json::Parse(c.attestation.empty() ? "{}" : c.attestation);
  for (const AttestationQuestion& q : AttestationQuestions()) {
    const json::Value* a = answers.ok() ? answers->Find(q.key) : nullptr;
    std::string answer = a == nullptr || !a->is_bool() ? "Not answered"
                         : a->bool_value()             ? "Yes"
                                                       : "No";
    body += "<tr><td>" + E(q.text) + "</td><td data-question=\"" + E(q.key) + "\">" + answer +
            "</td></tr>";
  }
  body += "</table>";
  std::string base = ClientPath(c.client_id);
  auto button = [&](const char* action, const char* label) {
    return "<form class=\"inline\" method=\"post\" action=\"" + E(base) + "/" + action + "\">" +
           HiddenCsrf(csrf) + "<button type=\"submit\" name=\"action\" value=\"" + action + "\">" +
           label + "</button></form>";
  };
  body += "<p>";
  if (c.status == store::ClientStatus::kActive) {
    body += button("suspend", "Suspend");
  } else {
    body += button("activate", "Activate");
  }
  body += button("remove", "Remove") +
          "</p><p>Suspending stops the app at once: it cannot sign members in or get tokens, and "
          "its tokens stop working. Activating restores the access members granted. Removing "
          "revokes every grant for good.</p>";
  return body;
}

std::string ListBody(const std::vector<store::Client>& clients, const std::string& csrf,
                     const std::string& operator_name) {
  std::string body = Nav(csrf, operator_name) + "<h1>Registered apps</h1>";
  if (clients.empty()) {
    return body + "<p>No app is registered yet.</p>";
  }
  body +=
      "<table id=\"apps\"><tr><th>App</th><th>client_id</th><th>Status</th>"
      "<th>Registered</th><th>By</th></tr>";
  for (const store::Client& c : clients) {
    body += "<tr data-client-id=\"" + E(c.client_id) + "\"><td><a href=\"" +
            E(ClientPath(c.client_id)) + "\">" + E(c.name.empty() ? c.client_id : c.name) +
            "</a></td><td><code>" + E(c.client_id) + "</code></td><td>" + StatusCell(c.status) +
            "</td><td>" + FormatWhen(c.created_at) + "</td><td>" +
            E(c.registered_by.empty() ? "-" : c.registered_by) + "</td></tr>";
  }
  return body + "</table>";
}

}  // namespace

AdminServer::AdminServer(store::AuthStore& store, AdminOptions options, const base::Clock& clock)
    : store_(store), options_(std::move(options)), clock_(clock) {}

bool AdminServer::Handles(std::string_view path) {
  return path == "/admin" || base::StartsWith(path, "/admin/");
}

http::Response AdminServer::Handle(const http::Request& req) {
  if (req.path == kApiPrefix || base::StartsWith(req.path, std::string(kApiPrefix) + "/")) {
    return Api(req);
  }
  if (base::StartsWith(req.path, "/admin/api")) {
    return ApiError(404, "not_found", "no such endpoint");
  }
  return Pages(req);
}

AdminServer::Check AdminServer::CheckOperator(const std::string& username,
                                              const std::string& password, const std::string& via) {
  base::Millis now = clock_.NowMillis();
  auto op = store_.GetOperator(username);
  if (!op.ok()) {
    return Check::kUnavailable;
  }
  if (!op->has_value()) {
    auth::DummyPasswordCheck(password);
    (void)store_.Audit({now, "operator.login.failed", "", "", "", "unknown operator via=" + via});
    return Check::kBadCredentials;
  }
  const store::Operator& o = **op;
  if (o.locked_until > now) {
    auth::DummyPasswordCheck(password);
    (void)store_.Audit({now, "operator.login.locked", "", o.username, "", "via=" + via});
    return Check::kLocked;
  }
  if (!auth::VerifyPassword(password, o.password_hash)) {
    base::Millis lock = 0;
    if (o.failed_logins + 1 >= options_.max_failed_logins) {
      // Back-off as for members: the lock doubles with every further failure.
      int extra = o.failed_logins + 1 - options_.max_failed_logins;
      lock = now + options_.lockout_seconds * 1000LL * (1LL << std::min(extra, 6));
    }
    (void)store_.RecordOperatorFailure(o.username, lock);
    (void)store_.Audit({now, "operator.login.failed", "", o.username, "", "via=" + via});
    return Check::kBadCredentials;
  }
  if (o.failed_logins > 0) {
    (void)store_.ResetOperatorFailures(o.username);
  }
  return Check::kOk;
}

// ---- JSON API ---------------------------------------------------------------------------------

http::Response AdminServer::Api(const http::Request& req) {
  auto unauthorized = [](const std::string& why) {
    http::Response r = ApiError(401, "invalid_token", why);
    r.SetHeader("WWW-Authenticate", "Basic realm=\"portico-admin\", charset=\"UTF-8\"");
    return r;
  };
  std::string_view authz = req.Header("authorization");
  if (authz.size() < 6 || !base::EqualsIgnoreCase(authz.substr(0, 6), "basic ")) {
    return unauthorized("operator credentials (HTTP Basic) are required");
  }
  auto decoded = auth::Base64Decode(base::Trim(authz.substr(6)));
  size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    return unauthorized("malformed Basic credentials");
  }
  std::string username = decoded->substr(0, colon);
  Check check = CheckOperator(username, decoded->substr(colon + 1), "api");
  if (check == Check::kUnavailable) {
    return ApiError(503, "temporarily_unavailable", "please try again");
  }
  if (check == Check::kLocked) {
    return unauthorized("too many failed attempts; this operator account is locked for a while");
  }
  if (check != Check::kOk) {
    return unauthorized("the operator username or password is not right");
  }
  const std::string by = "operator:" + username;
  base::Millis now = clock_.NowMillis();

  std::string rest = req.path.substr(kApiPrefix.size());  // "" or "/{id}[/action]"
  if (rest.empty() || rest == "/") {
    if (req.method == "GET" || req.method == "HEAD") {
      auto clients = store_.ListClients();
      if (!clients.ok()) {
        return ApiError(503, "temporarily_unavailable", "please try again");
      }
      json::Value list = json::Value::MakeArray();
      for (const store::Client& c : *clients) {
        list.Push(ClientMetadataJson(c));
      }
      json::Value out = json::Value::MakeObject();
      out.Set("clients", std::move(list));
      return Json(200, out);
    }
    if (req.method != "POST") {
      http::Response r = ApiError(405, "invalid_request", "use GET or POST");
      r.SetHeader("Allow", "GET, POST");
      return r;
    }
    if (!base::StartsWith(base::ToLowerAscii(req.Header("content-type")), "application/json")) {
      return ApiError(400, "invalid_client_metadata", "the body must be application/json");
    }
    auto body = json::Parse(req.body);
    if (!body.ok()) {
      return ApiError(400, "invalid_client_metadata", "the body is not valid JSON");
    }
    Registration reg =
        PrepareRegistration(*body, MetadataPolicy{}, by, store::ClientStatus::kActive, now);
    if (reg.error.has_value()) {
      return ApiError(reg.error->error == "temporarily_unavailable" ? 503 : 400, reg.error->error,
                      reg.error->description);
    }
    if (!store_.PutClient(reg.created.client).ok()) {
      return ApiError(503, "temporarily_unavailable", "please try again");
    }
    (void)store_.Audit(
        {now, "operator.client.created", reg.created.client.client_id, username, "", "via=api"});
    http::Response r = Json(201, RegistrationResponse(reg.created));
    r.SetHeader("Location", options_.issuer + std::string(kApiPrefix) + "/" +
                                base::PercentEncode(reg.created.client.client_id));
    return r;
  }

  std::string id = rest.substr(1);
  std::string action;
  for (const char* a : {"suspend", "activate"}) {
    std::string suffix = std::string("/") + a;
    if (base::EndsWith(id, suffix)) {
      action = a;
      id.resize(id.size() - suffix.size());
    }
  }
  auto found = store_.GetClient(id);
  if (!found.ok()) {
    return ApiError(503, "temporarily_unavailable", "please try again");
  }
  if (!found->has_value()) {
    return ApiError(404, "not_found", "no client with this client_id");
  }
  store::Client client = **found;
  if (!action.empty()) {
    if (req.method != "POST") {
      http::Response r = ApiError(405, "invalid_request", "use POST");
      r.SetHeader("Allow", "POST");
      return r;
    }
    store::ClientStatus to =
        action == "suspend" ? store::ClientStatus::kSuspended : store::ClientStatus::kActive;
    auto set = store_.SetClientStatus(id, to, now);
    if (!set.ok()) {
      return ApiError(503, "temporarily_unavailable", "please try again");
    }
    (void)store_.Audit(
        {now, action == "suspend" ? "operator.client.suspended" : "operator.client.activated", id,
         username, "", "via=api"});
    client.status = to;
    client.updated_at = now;
    return Json(200, ClientMetadataJson(client));
  }
  if (req.method == "GET" || req.method == "HEAD") {
    return Json(200, ClientMetadataJson(client));
  }
  if (req.method == "DELETE") {
    auto removed = store_.RemoveClient(id);
    if (!removed.ok()) {
      return ApiError(503, "temporarily_unavailable", "please try again");
    }
    (void)store_.Audit({now, "operator.client.removed", id, username, "", "via=api"});
    http::Response r;
    r.status = 204;
    r.SetHeader("Cache-Control", "no-store");
    return r;
  }
  if (req.method == "PUT" || req.method == "PATCH") {
    if (!base::StartsWith(base::ToLowerAscii(req.Header("content-type")), "application/json")) {
      return ApiError(400, "invalid_client_metadata", "the body must be application/json");
    }
    auto body = json::Parse(req.body);
    if (!body.ok()) {
      return ApiError(400, "invalid_client_metadata", "the body is not valid JSON");
    }
    if (const json::Value* cid = body->Find("client_id");
        cid != nullptr && (!cid->is_string() || cid->str() != id)) {
      return ApiError(400, "invalid_client_metadata", "client_id cannot change");
    }
    auto err = ApplyClientMetadata(
        *body, req.method == "PUT" ? MetadataMode::kReplace : MetadataMode::kMerge,
        MetadataPolicy{}, client);
    if (err.has_value()) {
      return ApiError(400, err->error, err->description);
    }
    client.updated_at = now;
    if (!store_.PutClient(client).ok()) {
      return ApiError(503, "temporarily_unavailable", "please try again");
    }
    (void)store_.Audit({now, "operator.client.updated", id, username, "", "via=api"});
    return Json(200, ClientMetadataJson(client));
  }
  http::Response r = ApiError(405, "invalid_request", "use GET, PUT, PATCH or DELETE");
  r.SetHeader("Allow", "GET, PUT, PATCH, DELETE");
  return r;
}

// ---- pages ------------------------------------------------------------------------------------

http::Response AdminServer::Pages(const http::Request& req) {
  Params p;
  {
    std::vector<std::pair<std::string, std::string>> pairs;
    bool ok = http::ParseFormEncoded(req.query, pairs);
    if (req.method == "POST" && base::StartsWith(base::ToLowerAscii(req.Header("content-type")),
                                                 "application/x-www-form-urlencoded")) {
      ok = ok && http::ParseFormEncoded(req.body, pairs);
    }
    if (!ok) {
      return HtmlResponse(400, ErrorPage("Invalid request", "The form is not correctly encoded."));
    }
    for (auto& [k, v] : pairs) {
      p.emplace(std::move(k), std::move(v));
    }
  }
  base::Millis now = clock_.NowMillis();
  const std::string secure = options_.secure_cookies ? "; Secure" : "";
  auto cookie = [&](const char* name, const std::string& value, const std::string& extra) {
    return std::string(name) + "=" + value + "; Path=/admin; HttpOnly; SameSite=Strict" + secure +
           extra;
  };
  auto unavailable = [] {
    return HtmlResponse(503, ErrorPage("Try again later",
                                       "The service is temporarily "
                                       "unavailable."));
  };
  const std::string browser = CookieValue(req, kBrowserCookie);

  // A signed-in operator has a session record keyed by the cookie's hash and bound to the
  // browser cookie.
  std::optional<store::AuthRequest> session;
  if (std::string token = CookieValue(req, kSessionCookie); token.size() >= 32) {
    auto found = store_.GetAuthRequest(Sha("admin\n" + token));
    if (found.ok() && found->has_value() && (*found)->client_id == kSessionClient &&
        (*found)->expires_at > now && !(*found)->username.empty() && !browser.empty() &&
        base::ConstantTimeEquals(Sha(browser), (*found)->session_hash)) {
      session = **found;
    }
  }
  // The operator account must still exist.
  if (session) {
    auto op = store_.GetOperator(session->username);
    if (!op.ok()) {
      return unavailable();
    }
    if (!op->has_value()) {
      (void)store_.DeleteAuthRequest(session->id_hash);
      session.reset();
    }
  }

  auto login_page = [&](int status, const std::string& error) -> http::Response {
    auto form =
        StartSignIn(store_, browser, kSessionClient, now + options_.session_seconds * 1000LL);
    if (!form) {
      return unavailable();
    }
    http::Response r =
        HtmlResponse(status, AdminPage("Operator sign-in", LoginBody(form->tx, form->csrf, error)));
    if (form->new_browser) {
      r.SetHeader("Set-Cookie", cookie(kBrowserCookie, form->browser, ""));
    }
    return r;
  };

  if (req.path == "/admin/login" && req.method == "POST") {
    auto pre = store_.GetAuthRequest(Sha(Get(p, "tx")));
    if (!pre.ok()) {
      return unavailable();
    }
    if (!pre->has_value() || (*pre)->client_id != kSessionClient || !(*pre)->username.empty() ||
        (*pre)->expires_at < now || browser.empty() ||
        !base::ConstantTimeEquals(Sha(browser), (*pre)->session_hash) ||
        !base::ConstantTimeEquals(Get(p, "csrf"), (*pre)->csrf_token)) {
      return login_page(400, "The form has expired. Sign in again.");
    }
    std::string username = Get(p, "username");
    Check check = CheckOperator(username, Get(p, "password"), "page");
    if (check == Check::kUnavailable) {
      return unavailable();
    }
    if (check == Check::kLocked) {
      return login_page(429, "Too many failed attempts. This account is locked for a while.");
    }
    if (check != Check::kOk) {
      return login_page(401, "The username or password is not right.");
    }
    (void)store_.DeleteAuthRequest((*pre)->id_hash);
    std::string token = Random(32);
    store::AuthRequest s;
    s.id_hash = Sha("admin\n" + token);
    s.session_hash = Sha(browser);
    s.csrf_token = Random(24);
    s.client_id = kSessionClient;
    s.username = username;
    s.expires_at = now + options_.session_seconds * 1000LL;
    if (token.empty() || !store_.PutAuthRequest(s).ok()) {
      return unavailable();
    }
    (void)store_.Audit({now, "operator.login.succeeded", "", username, "", "via=page"});
    http::Response r = Redirect(options_.issuer + "/admin");
    r.SetHeader("Set-Cookie", cookie(kSessionCookie, token, ""));
    return r;
  }
  if (!session) {
    if (req.method == "POST") {
      return login_page(401, "Your session has ended. Sign in again.");
    }
    return login_page(200, "");
  }
  const std::string& op = session->username;
  const std::string& csrf = session->csrf_token;
  if (req.method == "POST" && !base::ConstantTimeEquals(Get(p, "csrf"), csrf)) {
    return HtmlResponse(400,
                        ErrorPage("Cannot continue", "The form has expired. Open the page again."));
  }
  if (req.path == "/admin/logout") {
    if (req.method != "POST") {
      return HtmlResponse(405, ErrorPage("Not allowed", "Use the Sign out button."));
    }
    (void)store_.DeleteAuthRequest(session->id_hash);
    http::Response r = Redirect(options_.issuer + "/admin");
    r.SetHeader("Set-Cookie", cookie(kSessionCookie, "", "; Max-Age=0"));
    return r;
  }
  if (req.path == "/admin" || req.path == "/admin/") {
    auto clients = store_.ListClients();
    if (!clients.ok()) {
      return unavailable();
    }
    return HtmlResponse(200, AdminPage("Registered apps", ListBody(*clients, csrf, op)));
  }
  if (req.path == "/admin/register") {
    if (req.method != "POST") {
      return HtmlResponse(200, AdminPage("Register an app", RegisterBody(csrf, op, {}, "")));
    }
    Registration reg = PrepareRegistration(FormToMetadata(p), MetadataPolicy{}, "operator:" + op,
                                           store::ClientStatus::kActive, now);
    if (reg.error.has_value()) {
      if (reg.error->error == "temporarily_unavailable") {
        return unavailable();
      }
      return HtmlResponse(
          400, AdminPage("Register an app", RegisterBody(csrf, op, p, reg.error->description)));
    }
    if (!store_.PutClient(reg.created.client).ok()) {
      return unavailable();
    }
    (void)store_.Audit(
        {now, "operator.client.created", reg.created.client.client_id, op, "", "via=page"});
    return HtmlResponse(200,
                        AdminPage(reg.created.client.name,
                                  ClientBody(reg.created.client, csrf, op, reg.created.secret)));
  }
  if (base::StartsWith(req.path, kClientPagePrefix)) {
    std::string id = req.path.substr(kClientPagePrefix.size());
    std::string action;
    if (req.method == "POST") {
      size_t slash = id.rfind('/');
      if (slash == std::string::npos) {
        return HtmlResponse(405, ErrorPage("Not allowed", "Use the buttons on the page."));
      }
      action = id.substr(slash + 1);
      id.resize(slash);
    }
    auto found = store_.GetClient(id);
    if (!found.ok()) {
      return unavailable();
    }
    if (!found->has_value()) {
      return HtmlResponse(404, ErrorPage("Not found", "No app is registered with this id."));
    }
    if (req.method != "POST") {
      return HtmlResponse(200, AdminPage((*found)->name, ClientBody(**found, csrf, op, "")));
    }
    if (action == "suspend" || action == "activate") {
      store::ClientStatus to =
          action == "suspend" ? store::ClientStatus::kSuspended : store::ClientStatus::kActive;
      if (!store_.SetClientStatus(id, to, now).ok()) {
        return unavailable();
      }
      (void)store_.Audit(
          {now, action == "suspend" ? "operator.client.suspended" : "operator.client.activated", id,
           op, "", "via=page"});
      return Redirect(options_.issuer + ClientPath(id));
    }
    if (action == "remove") {
      if (!store_.RemoveClient(id).ok()) {
        return unavailable();
      }
      (void)store_.Audit({now, "operator.client.removed", id, op, "", "via=page"});
      return Redirect(options_.issuer + "/admin");
    }
    return HtmlResponse(404, ErrorPage("Not found", "No such action."));
  }
  return HtmlResponse(404, ErrorPage("Not found", "No such page."));
}

}  // namespace portico::oauth
