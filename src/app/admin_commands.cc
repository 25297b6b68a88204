// Operator commands: `portico client ...`, `portico operator ...`, `portico user ...`,
// `portico keys rotate`.
#include "src/app/admin_commands.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/app/stores.h"
#include "src/auth/crypto.h"
#include "src/auth/jwk.h"
#include "src/auth/password.h"
#include "src/auth/scopes.h"
#include "src/base/strings.h"
#include "src/fhir/model/resource.h"
#include "src/json/json.h"
#include "src/oauth/access_token.h"
#include "src/oauth/client_metadata.h"
#include "src/oauth/key_manager.h"

namespace portico::app {

namespace {

std::string ReadStdinLine() {
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  return line;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "portico: %s\n", message.c_str());
  return 1;
}

bool ValidRedirect(const std::string& uri) {
  return (uri.rfind("https://", 0) == 0 || uri.rfind("http://", 0) == 0 ||
          (uri.find(':') != std::string::npos && uri.find(':') > 1)) &&
         uri.find('#') == std::string::npos && uri.find(' ') == std::string::npos;
}

const char* TypeName(store::ClientType t) {
  switch (t) {
    case store::ClientType::kConfidentialSymmetric:
      return "confidential-symmetric";
    case store::ClientType::kConfidentialAsymmetric:
      return "confidential-asymmetric";
    case store::ClientType::kPublic:
      return "public";
  }
  return "?";
}

}  // namespace

int RunClientAdd(const std::string& db, const ClientAddOptions& o) {
  if (!fhir::IsValidId(o.client_id) && o.client_id.find_first_of(" \t\"'<>") != std::string::npos) {
    return Fail("--client-id may not contain spaces or quotes");
  }
  if (o.client_id.empty() || o.client_id.size() > 128) {
    return Fail("--client-id is required (at most 128 characters)");
  }
  if (o.redirect_uris.empty()) {
    return Fail("at least one --redirect-uri is required");
  }
  for (const std::string& u : o.redirect_uris) {
    if (!ValidRedirect(u)) {
      return Fail("invalid --redirect-uri '" + u + "' (absolute URI without a fragment)");
    }
  }
  int modes = (o.secret_stdin ? 1 : 0) + (o.is_public ? 1 : 0) + (!o.jwks_url.empty() ? 1 : 0) +
              (!o.jwks_file.empty() ? 1 : 0);
  if (modes > 1) {
    return Fail("choose one of --secret-stdin, --public, --jwks-url, --jwks-file");
  }
  store::Client c;
  c.client_id = o.client_id;
  c.name = o.name.empty() ? o.client_id : o.name;
  c.redirect_uris = o.redirect_uris;
  c.status = o.pending ? store::ClientStatus::kPending : store::ClientStatus::kActive;
  c.registered_by = "cli";
  struct UriFlag {
    const char* flag;
    const std::string& value;
    std::string& target;
  };
  for (const UriFlag& f : {UriFlag{"--client-uri", o.client_uri, c.client_uri},
                           UriFlag{"--policy-uri", o.policy_uri, c.policy_uri},
                           UriFlag{"--tos-uri", o.tos_uri, c.tos_uri},
                           UriFlag{"--logo-uri", o.logo_uri, c.logo_uri}}) {
    std::string why;
    if (!f.value.empty() && !oauth::IsValidWebUri(f.value, &why)) {
      return Fail(std::string("invalid ") + f.flag + " '" + f.value + "': " + why);
    }
    f.target = f.value;
  }
  for (const std::string& e : o.contacts) {
    if (!oauth::IsPlausibleEmail(e)) {
      return Fail("invalid --contact '" + e + "' (an e-mail address)");
    }
  }
  c.contacts = o.contacts;
  json::Value given = json::Value::MakeObject();
  for (const std::string& a : o.attest) {
    size_t eq = a.find('=');
    std::string key = a.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
    const auto& qs = oauth::AttestationQuestions();
    bool known = std::any_of(qs.begin(), qs.end(),
                             [&](const oauth::AttestationQuestion& q) { return q.key == key; });
    if (!known || (value != "yes" && value != "no")) {
      std::string keys;
      for (const oauth::AttestationQuestion& q : qs) {
        keys += (keys.empty() ? "" : ", ") + std::string(q.key);
      }
      return Fail("--attest takes QUESTION=yes|no with QUESTION one of: " + keys);
    }
    given.Set(key, json::Value::Bool(value == "yes"));
  }
  json::Value answers = json::Value::MakeObject();  // in the questions' order
  for (const oauth::AttestationQuestion& q : oauth::AttestationQuestions()) {
    if (const json::Value* v = given.Find(q.key)) {
      answers.Set(q.key, *v);
    }
  }
  c.attestation = json::Serialize(answers);
  if (!o.scope.empty()) {
    auth::ScopeSet s = auth::ParseScopeString(o.scope);
    if (!s.invalid.empty()) {
      return Fail("unknown scope in --scope: " + s.invalid[0]);
    }
    c.scope = s.ToString();
  }
  std::string generated;
  if (o.is_public) {
    c.type = store::ClientType::kPublic;
  } else if (!o.jwks_url.empty() || !o.jwks_file.empty()) {
    c.type = store::ClientType::kConfidentialAsymmetric;
    c.jwks_url = o.jwks_url;
    if (!o.jwks_file.empty()) {
      std::ifstream in(o.jwks_file);
      std::stringstream ss;
      ss << in.rdbuf();
      if (!in.good() && !in.eof()) {
        return Fail("cannot read " + o.jwks_file);
      }
      auto v = json::Parse(ss.str());
      if (!v.ok()) {
        return Fail("--jwks-file: " + v.status().message());
      }
      auto ks = auth::KeySet::FromJwks(*v);
      if (!ks.ok() || ks->empty()) {
        return Fail("--jwks-file holds no usable public key");
      }
      c.jwks_json = json::Serialize(*v);
    }
  } else {
    c.type = store::ClientType::kConfidentialSymmetric;
    std::string secret;
    if (o.secret_stdin) {
      secret = ReadStdinLine();
      if (secret.size() < 16) {
        return Fail("the client secret must have at least 16 characters");
      }
    } else {
      auto r = auth::RandomToken(32);
      if (!r.ok()) {
        return Fail(r.status().message());
      }
      secret = generated = *r;
    }
    auto h = auth::HashClientSecret(secret);
    if (!h.ok()) {
      return Fail(h.status().message());
    }
    c.secret_hash = *h;
  }
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  c.created_at = base::SystemClock::Get().NowMillis();
  c.updated_at = c.created_at;
  if (Status s = (*stores)->auth->PutClient(c); !s.ok()) {
    return Fail(s.message());
  }
  std::printf("client %s registered (%s, %s)\n", c.client_id.c_str(), TypeName(c.type),
              store::ClientStatusName(c.status));
  if (!generated.empty()) {
    std::printf("client_secret: %s\n(shown once; store it now)\n", generated.c_str());
  }
  return 0;
}

int RunClientList(const std::string& db) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  auto clients = (*stores)->auth->ListClients();
  if (!clients.ok()) {
    return Fail(clients.status().message());
  }
  for (const store::Client& c : *clients) {
    std::string uris;
    for (const std::string& u : c.redirect_uris) {
      uris += (uris.empty() ? "" : " ") + u;
    }
    std::printf("%s\t%s\t%s\t%s\t%s\n", c.client_id.c_str(), TypeName(c.type), c.name.c_str(),
                uris.c_str(), store::ClientStatusName(c.status));
  }
  return 0;
}

int RunClientRemove(const std::string& db, const std::string& client_id) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  auto removed = (*stores)->auth->RemoveClient(client_id);
  if (!removed.ok()) {
    return Fail(removed.status().message());
  }
  if (!*removed) {
    return Fail("no client " + client_id);
  }
  std::printf("client %s removed\n", client_id.c_str());
  return 0;
}

int RunClientSetStatus(const std::string& db, const std::string& client_id, bool active) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  store::AuthStore& auth = *(*stores)->auth;
  base::Millis now = base::SystemClock::Get().NowMillis();
  auto set = auth.SetClientStatus(
      client_id, active ? store::ClientStatus::kActive : store::ClientStatus::kSuspended, now);
  if (!set.ok()) {
    return Fail(set.status().message());
  }
  if (!*set) {
    return Fail("no client " + client_id);
  }
  (void)auth.Audit({now, active ? "operator.client.activated" : "operator.client.suspended",
                    client_id, "", "", "via=cli"});
  if (active) {
    std::printf("client %s activated; grants that were not revoked work again\n",
                client_id.c_str());
  } else {
    std::printf("client %s suspended; its tokens stop working at once\n", client_id.c_str());
  }
  return 0;
}

int RunOperatorAdd(const std::string& db, const std::string& username, bool password_stdin) {
  if (username.empty() || username.size() > 128 ||
      username.find_first_of(" \t:\"'<>") != std::string::npos) {
    return Fail("--username is required (at most 128 characters; no spaces, quotes or ':')");
  }
  if (!password_stdin) {
    return Fail("--password-stdin is required (the password is read from standard input)");
  }
  std::string password = ReadStdinLine();
  if (password.size() < 12) {
    return Fail("an operator password must have at least 12 characters");
  }
  auto hash = auth::HashPassword(password);
  if (!hash.ok()) {
    return Fail(hash.status().message());
  }
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  store::AuthStore& auth = *(*stores)->auth;
  auto existing = auth.GetOperator(username);
  if (!existing.ok()) {
    return Fail(existing.status().message());
  }
  store::Operator op;
  op.username = username;
  op.password_hash = *hash;
  op.created_at =
      existing->has_value() ? (*existing)->created_at : base::SystemClock::Get().NowMillis();
  if (Status s = auth.PutOperator(op); !s.ok()) {
    return Fail(s.message());
  }
  std::printf("operator %s saved\n", username.c_str());
  return 0;
}

int RunOperatorList(const std::string& db) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  auto ops = (*stores)->auth->ListOperators();
  if (!ops.ok()) {
    return Fail(ops.status().message());
  }
  for (const store::Operator& o : *ops) {
    std::printf("%s%s\n", o.username.c_str(),
                o.locked_until > base::SystemClock::Get().NowMillis() ? "\tlocked" : "");
  }
  return 0;
}

int RunOperatorRemove(const std::string& db, const std::string& username) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  auto removed = (*stores)->auth->RemoveOperator(username);
  if (!removed.ok()) {
    return Fail(removed.status().message());
  }
  if (!*removed) {
    return Fail("no operator " + username);
  }
  std::printf("operator %s removed\n", username.c_str());
  return 0;
}

int RunUserAdd(const std::string& db, const UserAddOptions& o, bool set_password_only) {
  if (o.username.empty() || o.username.size() > 128) {
    return Fail("--username is required (at most 128 characters)");
  }
  if (!o.password_stdin) {
    return Fail("--password-stdin is required (the password is read from standard input)");
  }
  std::string password = ReadStdinLine();
  if (password.size() < 8) {
    return Fail("the password must have at least 8 characters");
  }
  auto hash = auth::HashPassword(password);
  if (!hash.ok()) {
    return Fail(hash.status().message());
  }
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  store::AuthStore& auth = *(*stores)->auth;
  auto existing = auth.GetUser(o.username);
  if (!existing.ok()) {
    return Fail(existing.status().message());
  }
  store::User u;
  if (set_password_only) {
    if (!existing->has_value()) {
      return Fail("no user " + o.username);
    }
    u = **existing;
    u.password_hash = *hash;
    u.failed_logins = 0;
    u.locked_until = 0;
  } else {
    if (o.patient.empty() && o.represents.empty()) {
      return Fail("a user needs --patient (their own record) or --represents (members they act "
                  "for)");
    }
    for (const std::string& id : o.represents) {
      if (!fhir::IsValidId(id)) {
        return Fail("invalid --represents id '" + id + "'");
      }
    }
    if (!o.patient.empty() && !fhir::IsValidId(o.patient)) {
      return Fail("invalid --patient id '" + o.patient + "'");
    }
    u.username = o.username;
    u.password_hash = *hash;
    u.patient_id = o.patient;
    u.represents = o.represents;
    u.fhir_user = o.fhir_user;
    u.created_at = base::SystemClock::Get().NowMillis();
    if (existing->has_value()) {
      // Access to members no longer represented ends now.
      const store::User& old = **existing;
      std::vector<std::string> before = old.represents;
      if (!old.patient_id.empty()) {
        before.push_back(old.patient_id);
      }
      for (const std::string& p : before) {
        bool still = p == u.patient_id ||
                     std::find(u.represents.begin(), u.represents.end(), p) != u.represents.end();
        if (!still) {
          (void)auth.RevokeGrantsOf(u.username, p);
        }
      }
      u.created_at = old.created_at;
    }
  }
  if (Status s = auth.PutUser(u); !s.ok()) {
    return Fail(s.message());
  }
  std::printf("user %s %s\n", o.username.c_str(), set_password_only ? "password changed" : "saved");
  return 0;
}

int RunUserList(const std::string& db) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  auto users = (*stores)->auth->ListUsers();
  if (!users.ok()) {
    return Fail(users.status().message());
  }
  for (const store::User& u : *users) {
    std::string reps;
    for (const std::string& r : u.represents) {
      reps += (reps.empty() ? "" : ",") + r;
    }
    std::printf("%s\tpatient=%s\trepresents=%s%s\n", u.username.c_str(),
                u.patient_id.empty() ? "-" : u.patient_id.c_str(),
                reps.empty() ? "-" : reps.c_str(),
                u.locked_until > base::SystemClock::Get().NowMillis() ? "\tlocked" : "");
  }
  return 0;
}

int RunUserRemove(const std::string& db, const std::string& username) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  (void)(*stores)->auth->RevokeGrantsOf(username, "");
  auto removed = (*stores)->auth->RemoveUser(username);
  if (!removed.ok()) {
    return Fail(removed.status().message());
  }
  if (!*removed) {
    return Fail("no user " + username);
  }
  std::printf("user %s removed; their grants are revoked\n", username.c_str());
  return 0;
}

int RunKeysRotate(const std::string& db) {
  auto stores = OpenStores(db, base::SystemClock::Get());
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  oauth::KeyManager keys(*(*stores)->auth, base::SystemClock::Get());
  if (Status s = keys.Init(); !s.ok()) {
    return Fail(s.message());
  }
  auto kids = keys.Rotate();
  if (!kids.ok()) {
    return Fail(kids.status().message());
  }
  std::printf("new signing keys %s; previous keys stay published until tokens they signed expire\n",
              base::Join(*kids, ", ").c_str());
  return 0;
}

}  // namespace portico::app

#include "src/auth/jws.h"

namespace portico::app {

int RunTokenIssue(const std::string& db, const std::string& base_url_in, const std::string& scope,
                  int ttl_seconds) {
  std::string base_url = base_url_in;
  while (!base_url.empty() && base_url.back() == '/') {
    base_url.pop_back();
  }
  if (base_url.size() > 5 && base_url.compare(base_url.size() - 5, 5, "/fhir") == 0) {
    base_url.resize(base_url.size() - 5);
  }
  if (base_url.empty()) {
    return Fail("--base-url is required (the server's public base URL)");
  }
  auth::ScopeSet scopes = auth::ParseScopeString(scope);
  if (!scopes.invalid.empty() || scopes.resources.empty()) {
    return Fail("--scope must list system/ resource scopes, e.g. \"system/*.read\"");
  }
  for (const auth::ResourceScope& s : scopes.resources) {
    if (s.context != auth::Context::kSystem || s.c || s.u || s.d) {
      return Fail("operator tokens carry read-only system/ scopes only");
    }
  }
  if (ttl_seconds < 60 || ttl_seconds > 86400) {
    return Fail("--ttl must be between 60 and 86400 seconds");
  }
  const base::Clock& clock = base::SystemClock::Get();
  auto stores = OpenStores(db, clock);
  if (!stores.ok()) {
    return Fail(stores.status().message());
  }
  store::AuthStore& auth = *(*stores)->auth;
  oauth::KeyManager keys(auth, clock);
  if (Status s = keys.Init(); !s.ok()) {
    return Fail(s.message());
  }
  auto grant_id = auth::RandomToken(18);
  if (!grant_id.ok()) {
    return Fail("no randomness available");
  }
  base::Millis now = clock.NowMillis();
  store::Grant g;
  g.grant_id = *grant_id;
  g.client_id = "portico-operator";
  g.username = "operator";
  g.scope = scopes.ToString();
  g.created_at = now;
  g.last_used_at = now;
  if (Status s = auth.PutGrant(g); !s.ok()) {
    return Fail(s.message());
  }
  auto token = oauth::SignAccessToken(*keys.Get()->access_token_key,
                                      {base_url, base_url + "/fhir", "operator", g.client_id,
                                       g.scope, g.grant_id, "", "", now / 1000, ttl_seconds});
  if (!token.ok()) {
    return Fail(token.status().message());
  }
  (void)auth.Audit({now, "operator.token", g.client_id, g.username, "", "scope=" + g.scope});
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace portico::app
