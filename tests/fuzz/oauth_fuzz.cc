// The authorization server's request handling: AuthorizationServer::Handle over a small SQLite
// auth store. Reaches the parsers the OAuth endpoints apply to outside input: query and form
// parameters, the session cookie (CookieValue), HTTP Basic client credentials, PKCE
// code_challenge / code_verifier checks, private_key_jwt client assertions (decoded, verified
// against the client's registered JWKS and claim-checked), refresh tokens, redirect URIs and
// scopes at /authorize, /token, /introspect, /revoke, /userinfo and the login/picker/consent
// pages.
//
// Input lines: 1 = "METHOD /path", 2 = Cookie header, 3 = Authorization header, 4.. = the form
// body (POST) or query string (GET). The store holds: public client "app" (redirect
// http://localhost/cb), private_key_jwt client "backend" (keys/jwks.json), user "amy" (patient
// p1), and an authorization request with tx "FUZZTX", cookie portico_session=FUZZSESSION and
// csrf "FUZZCSRF" (already logged in as amy). Each "FUZZCODE" in the input becomes a fresh
// authorization code for "app" with the S256 challenge of code_verifier
// fuzz-verifier-0123456789abcdefghijklmnopqrstuvwxyz.
//
// Login posts are not run: they pay for an Argon2id password check by design (also for unknown
// users), which would only slow the fuzzer down. The store is rebuilt every 20000 inputs so it
// does not grow without bound.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "src/base/digest.h"
#include "src/base/strings.h"
#include "src/base/time.h"
#include "src/fhir/search/registry.h"
#include "src/oauth/authorization_server.h"
#include "src/oauth/key_manager.h"
#include "src/store/sqlite/sqlite_auth_store.h"
#include "src/store/sqlite/sqlite_store.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/fuzz_util.h"

namespace store = portico::store;
namespace oauth = portico::oauth;
using portico::fuzz::Fail;

namespace {

constexpr portico::base::Millis kNow = 1717243200000;  // 2024-06-01T12:00:00Z
constexpr portico::base::Millis kFar = kNow + 10LL * 365 * 86400 * 1000;
constexpr char kChallenge[] = "E4aismPLOjMMVem715cjUuJDzxgwcm09HcqmThqYH2U";

class FixedClock : public portico::base::Clock {
 public:
  portico::base::Millis NowMillis() const override { return kNow; }
};

struct Env {
  std::string dir;
  std::unique_ptr<store::sqlite::SqliteStore> resources;
  std::unique_ptr<store::sqlite::SqliteAuthStore> auth;
  std::unique_ptr<oauth::KeyManager> keys;
  std::unique_ptr<oauth::AuthorizationServer> server;
  ~Env() {
    server.reset();
    keys.reset();
    auth.reset();
    resources.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

const FixedClock& Clock() {
  static const FixedClock clock;
  return clock;
}

void Check(const portico::Status& s, const char* what) {
  if (!s.ok()) Fail(what, s.message());
}

store::AuthRequest FuzzTx() {
  store::AuthRequest ar;
  ar.id_hash = portico::base::Sha256Hex("FUZZTX");
  ar.session_hash = portico::base::Sha256Hex("FUZZSESSION");
  ar.csrf_token = "FUZZCSRF";
  ar.client_id = "app";
  ar.redirect_uri = "http://localhost/cb";
  ar.scope = "launch/patient openid fhirUser offline_access patient/*.rs";
  ar.state = "st";
  ar.code_challenge = kChallenge;
  ar.code_challenge_method = "S256";
  ar.username = "amy";
  ar.patient_id = "p1";
  ar.expires_at = kFar;
  return ar;
}

std::unique_ptr<Env> MakeEnv() {
  auto env = std::make_unique<Env>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "portico-oauth-fuzz-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp");
  env->dir = tmpl;
  auto reg = portico::fhir::SearchParamRegistry::LoadBuiltin();
  if (!reg.ok()) Fail("registry");
  auto rs = store::sqlite::SqliteStore::Open(env->dir + "/auth.db", *reg, Clock());
  if (!rs.ok()) Fail("SqliteStore::Open", rs.status().message());
  env->resources = std::move(*rs);
  auto as = store::sqlite::SqliteAuthStore::Open(*env->resources);
  if (!as.ok()) Fail("SqliteAuthStore::Open", as.status().message());
  env->auth = std::move(*as);

  store::Client app;
  app.client_id = "app";
  app.name = "Fuzz App";
  app.type = store::ClientType::kPublic;
  app.redirect_uris = {"http://localhost/cb"};
  app.created_at = kNow;
  Check(env->auth->PutClient(app), "PutClient app");
  store::Client backend;
  backend.client_id = "backend";
  backend.type = store::ClientType::kConfidentialAsymmetric;
  backend.jwks_json = portico::fuzz::kFuzzJwks;
  backend.scope = "system/*.rs";
  backend.created_at = kNow;
  Check(env->auth->PutClient(backend), "PutClient backend");
  store::User amy;
  amy.username = "amy";
  amy.password_hash = "not-a-hash";  // login posts are not fuzzed (see above)
  amy.patient_id = "p1";
  amy.created_at = kNow;
  Check(env->auth->PutUser(amy), "PutUser");
  Check(env->auth->PutAuthRequest(FuzzTx()), "PutAuthRequest");

  env->keys = std::make_unique<oauth::KeyManager>(*env->auth, Clock());
  Check(env->keys->Init(), "KeyManager::Init");
  oauth::OAuthOptions options;
  options.issuer = "http://localhost:8080";
  options.fhir_base = "http://localhost:8080/fhir";
  options.secure_cookies = false;
  env->server = std::make_unique<oauth::AuthorizationServer>(
      *env->auth, *env->keys, options,
      [](const std::string& id) { return "Patient " + id; }, Clock());
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<Env> env;
  static uint64_t runs = 0;
  if (env == nullptr || ++runs % 20000 == 0) {
    env.reset();
    env = MakeEnv();
  }
  auto f = portico::fuzz::Fields(portico::fuzz::AsView(data, size), 4);
  portico::http::Request req;
  std::string_view line = f[0];
  size_t sp = line.find(' ');
  req.method = std::string(line.substr(0, sp));
  req.path = sp == std::string_view::npos ? "/oauth/token" : std::string(line.substr(sp + 1));
  if (req.method == "POST" && req.path == "/oauth/login") {
    return 0;
  }
  if (!f[1].empty()) req.headers.emplace_back("cookie", std::string(f[1]));
  if (!f[2].empty()) req.headers.emplace_back("authorization", std::string(f[2]));
  std::string params(f[3]);
  for (size_t at = params.find("FUZZCODE"); at != std::string::npos;
       at = params.find("FUZZCODE", at + 1)) {
    std::string code = "FUZZCODE-" + std::to_string(runs) + "-" + std::to_string(at);
    params.replace(at, 8, code);
    store::AuthCode ac;
    ac.code_hash = portico::base::Sha256Hex(code);
    ac.client_id = "app";
    ac.redirect_uri = "http://localhost/cb";
    ac.scope = "launch/patient openid fhirUser offline_access patient/*.rs";
    ac.username = "amy";
    ac.patient_id = "p1";
    ac.code_challenge = kChallenge;
    ac.code_challenge_method = "S256";
    ac.grant_id = "g-" + code;
    ac.expires_at = kNow + 60000;
    (void)env->auth->PutCode(ac);
  }
  if (req.method == "POST") {
    req.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    req.body = std::move(params);
    req.target = req.path;
  } else {
    req.query = std::move(params);
    req.target = req.path + "?" + req.query;
  }
  req.remote_addr = "127.0.0.1";
  req.request_id = "fuzz";
  if (!env->server->Handles(req.path)) {
    return 0;
  }
  portico::http::Response resp = env->server->Handle(req);
  FUZZ_CHECK(resp.status >= 200 && resp.status < 600, req.path);
  // Consent and code exchange may consume the shared transaction; put it back.
  if (req.path == "/oauth/consent" || req.path == "/oauth/pick") {
    (void)env->auth->PutAuthRequest(FuzzTx());
  }
  return 0;
}
