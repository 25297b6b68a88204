#include "src/oauth/client_metadata.h"

#include <algorithm>

#include "src/auth/crypto.h"
#include "src/auth/jwk.h"
#include "src/auth/password.h"
#include "src/auth/scopes.h"
#include "src/base/strings.h"

namespace portico::oauth {

namespace {

constexpr size_t kMaxUriLength = 2000;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxListItems = 20;

MetadataError Invalid(std::string description) {
  return {"invalid_client_metadata", std::move(description)};
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Host names: dot-separated labels of letters, digits and hyphens (not at a label's ends).
bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  for (std::string_view label : base::Split(host, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') {
        return false;
      }
    }
  }
  return true;
}

bool CheckUri(std::string_view uri, bool redirect, std::string* why) {
  auto fail = [&](const char* reason) {
    if (why != nullptr) {
      *why = reason;
    }
    return false;
  };
  if (uri.empty() || uri.size() > kMaxUriLength) {
    return fail("must be an absolute URI of at most 2000 characters");
  }
  for (char c : uri) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
        c == '`' || c == '{' || c == '|' || c == '}') {
      return fail("contains a character that is not allowed in a URI");
    }
  }
  if (uri.find('#') != std::string_view::npos) {
    return fail("must not have a fragment");
  }
  bool https = base::StartsWith(uri, "https://");
  bool http = base::StartsWith(uri, "http://");
  if (!https && !http) {
    return fail("must be an absolute https URI (http only for localhost)");
  }
  std::string_view rest = uri.substr(https ? 8 : 7);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) {
    return fail("must not carry user information");
  }
  std::string_view host = authority;
  if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    auto n = base::ParseInt(port);
    if (port.empty() || port.size() > 5 || !n || *n < 1 || *n > 65535) {
      return fail("has a malformed port");
    }
  }
  std::string lower = base::ToLowerAscii(host);
  if (!IsHostName(lower)) {
    return fail("has a malformed host name");
  }
  if (http && lower != "localhost" && lower != "127.0.0.1") {
    return fail(redirect ? "must use https (http only for localhost or 127.0.0.1)"
                         : "must use https (http only for localhost)");
  }
  return true;
}

// Non-empty text without control characters, at most `max` bytes.
bool IsDisplayText(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) {
    return false;
  }
  return std::none_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Reads an optional string member. False (with `err` set) when present but not a string.
bool ReadString(const json::Value& body, std::string_view key, std::optional<std::string>& out,
                std::optional<MetadataError>& err) {
  const json::Value* v = body.Find(key);
  if (v == nullptr || v->is_null()) {
    return true;
  }
  if (!v->is_string()) {
    err = Invalid(std::string(key) + " must be a string");
    return false;
  }
  out = v->str();
  return true;
}

bool ReadStringArray(const json::Value& body, std::string_view key,
                     std::optional<std::vector<std::string>>& out,
                     std::optional<MetadataError>& err) {
  const json::Value* v = body.Find(key);
  if (v == nullptr || v->is_null()) {
    return true;
  }
  if (!v->is_array() || v->array().size() > kMaxListItems) {
    err = Invalid(std::string(key) + " must be an array of at most 20 strings");
    return false;
  }
  std::vector<std::string> items;
  for (const json::Value& item : v->array()) {
    if (!item.is_string()) {
      err = Invalid(std::string(key) + " must be an array of strings");
      return false;
    }
    if (std::find(items.begin(), items.end(), item.str()) == items.end()) {
      items.push_back(item.str());
    }
  }
  out = std::move(items);
  return true;
}

StatusOr<store::ClientType> TypeOfMethod(std::string_view method) {
  if (method == "client_secret_basic" || method == "client_secret_post") {
    return store::ClientType::kConfidentialSymmetric;
  }
  if (method == "private_key_jwt") {
    return store::ClientType::kConfidentialAsymmetric;
  }
  if (method == "none") {
    return store::ClientType::kPublic;
  }
  return InvalidArgumentError(
      "token_endpoint_auth_method must be client_secret_basic, "
      "client_secret_post, private_key_jwt or none");
}

}  // namespace

const std::vector<AttestationQuestion>& AttestationQuestions() {
  static const std::vector<AttestationQuestion>* questions = new std::vector<AttestationQuestion>{
      {"privacy_policy_published",
       "The app publishes a privacy policy that members can read before they connect."},
      {"sells_data", "The app sells members' health data or shares it for payment."},
      {"secondary_use",
       "The app uses members' data for purposes other than the service the member asked for "
       "(for example advertising or research)."},
      {"member_can_delete", "Members can have their data deleted from the app on request."},
      {"carin_code_of_conduct",
       "The app follows the CARIN Alliance Code of Conduct for consumer-directed exchange."},
  };
  return *questions;
}

bool IsValidRedirectUri(std::string_view uri, std::string* why) { return CheckUri(uri, true, why); }

bool IsValidWebUri(std::string_view uri, std::string* why) { return CheckUri(uri, false, why); }

bool IsPlausibleEmail(std::string_view email) {
  if (email.size() < 6 || email.size() > 254) {
    return false;
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : local) {
    if (!IsAlnum(c) && std::string_view("!#$%&'*+-/=?^_{|}~.").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return domain.find('.') != std::string_view::npos && IsHostName(base::ToLowerAscii(domain));
}

std::string_view AuthMethodOf(store::ClientType type) {
  switch (type) {
    case store::ClientType::kConfidentialSymmetric:
      return "client_secret_basic";
    case store::ClientType::kConfidentialAsymmetric:
      return "private_key_jwt";
    case store::ClientType::kPublic:
      return "none";
  }
  return "client_secret_basic";
}

std::optional<MetadataError> ApplyClientMetadata(const json::Value& body, MetadataMode mode,
                                                 const MetadataPolicy& policy,
                                                 store::Client& client) {
  if (!body.is_object()) {
    return Invalid("the body must be a JSON object of client metadata");
  }
  const bool merge = mode == MetadataMode::kMerge;
  std::optional<MetadataError> err;
  std::optional<std::string> name, client_uri, policy_uri, tos_uri, logo_uri, scope, method,
      jwks_uri;
  std::optional<std::vector<std::string>> redirect_uris, contacts, grant_types, response_types;
  if (!ReadString(body, "client_name", name, err) ||
      !ReadString(body, "client_uri", client_uri, err) ||
      !ReadString(body, "policy_uri", policy_uri, err) ||
      !ReadString(body, "tos_uri", tos_uri, err) || !ReadString(body, "logo_uri", logo_uri, err) ||
      !ReadString(body, "scope", scope, err) ||
      !ReadString(body, "token_endpoint_auth_method", method, err) ||
      !ReadString(body, "jwks_uri", jwks_uri, err) ||
      !ReadStringArray(body, "redirect_uris", redirect_uris, err) ||
      !ReadStringArray(body, "contacts", contacts, err) ||
      !ReadStringArray(body, "grant_types", grant_types, err) ||
      !ReadStringArray(body, "response_types", response_types, err)) {
    return err;
  }

  // Client type: chosen at creation, fixed afterwards.
  store::ClientType type = client.type;
  if (mode == MetadataMode::kCreate) {
    type = store::ClientType::kConfidentialSymmetric;  // RFC 7591: client_secret_basic
  }
  if (method.has_value()) {
    auto t = TypeOfMethod(*method);
    if (!t.ok()) {
      return Invalid(t.status().message());
    }
    if (mode != MetadataMode::kCreate && *t != client.type) {
      return Invalid(
          "token_endpoint_auth_method cannot change after registration (register a "
          "new client instead)");
    }
    type = *t;
  }
  client.type = type;

  if (name.has_value() || !merge) {
    if (!name.has_value() || !IsDisplayText(*name, kMaxNameLength)) {
      return Invalid(
          "client_name is required: the app's name as members will see it (at most "
          "200 characters)");
    }
    client.name = *name;
  }

  bool code_flow = true;
  if (grant_types.has_value()) {
    bool backend = false;
    code_flow = false;
    for (const std::string& g : *grant_types) {
      if (g == "authorization_code" || g == "refresh_token") {
        code_flow = code_flow || g == "authorization_code";
      } else if (g == "client_credentials") {
        backend = true;
      } else {
        return Invalid("unsupported grant type '" + g +
                       "' (authorization_code, refresh_token, client_credentials)");
      }
    }
    if (backend && policy.member_apps_only) {
      return Invalid(
          "client_credentials cannot be registered dynamically; ask the plan's "
          "operators");
    }
    if (backend && type != store::ClientType::kConfidentialAsymmetric) {
      return Invalid("client_credentials needs token_endpoint_auth_method private_key_jwt");
    }
  }
  if (response_types.has_value()) {
    for (const std::string& r : *response_types) {
      if (r != "code") {
        return Invalid("only the response type 'code' is supported");
      }
    }
  }

  if (redirect_uris.has_value() || !merge) {
    std::vector<std::string> uris = redirect_uris.value_or(std::vector<std::string>{});
    if (uris.empty() && code_flow) {
      return MetadataError{"invalid_redirect_uri", "at least one redirect URI is required"};
    }
    for (const std::string& u : uris) {
      std::string why;
      if (!IsValidRedirectUri(u, &why)) {
        return MetadataError{"invalid_redirect_uri", "redirect URI '" + u + "' " + why};
      }
    }
    client.redirect_uris = std::move(uris);
  }

  struct UriField {
    const char* key;
    std::optional<std::string>* value;
    std::string* target;
  };
  for (const UriField& f : {UriField{"client_uri", &client_uri, &client.client_uri},
                            UriField{"policy_uri", &policy_uri, &client.policy_uri},
                            UriField{"tos_uri", &tos_uri, &client.tos_uri},
                            UriField{"logo_uri", &logo_uri, &client.logo_uri}}) {
    if (!f.value->has_value()) {
      if (!merge) {
        f.target->clear();
      }
      continue;
    }
    std::string why;
    if (!(*f.value)->empty() && !IsValidWebUri(**f.value, &why)) {
      return Invalid(std::string(f.key) + " " + why);
    }
    *f.target = **f.value;
  }

  if (contacts.has_value() || !merge) {
    std::vector<std::string> list = contacts.value_or(std::vector<std::string>{});
    for (const std::string& c : list) {
      if (!IsPlausibleEmail(c)) {
        return Invalid("contacts must be e-mail addresses; '" + c + "' is not");
      }
    }
    client.contacts = std::move(list);
  }

  if (scope.has_value() || !merge) {
    std::string text = scope.value_or("");
    auth::ScopeSet set = auth::ParseScopeString(text);
    if (!set.invalid.empty()) {
      return Invalid("unknown scope '" + set.invalid[0] + "'");
    }
    if (policy.member_apps_only) {
      for (const auth::ResourceScope& rs : set.resources) {
        if (rs.context == auth::Context::kSystem) {
          return Invalid("system/ scopes cannot be registered dynamically");
        }
      }
    }
    client.scope = text.empty() ? "" : set.ToString();
  }

  // Keys: only for private_key_jwt, inline (jwks) or by reference (jwks_uri), not both.
  const json::Value* jwks = body.Find("jwks");
  bool keys_given = jwks_uri.has_value() || (jwks != nullptr && !jwks->is_null());
  if (type != store::ClientType::kConfidentialAsymmetric) {
    if (keys_given) {
      return Invalid("jwks and jwks_uri are only for token_endpoint_auth_method private_key_jwt");
    }
    client.jwks_url.clear();
    client.jwks_json.clear();
  } else if (keys_given || !merge) {
    if (jwks_uri.has_value() && jwks != nullptr && !jwks->is_null()) {
      return Invalid("give jwks or jwks_uri, not both");
    }
    if (jwks_uri.has_value()) {
      std::string why;
      if (!IsValidWebUri(*jwks_uri, &why)) {
        return Invalid("jwks_uri " + why);
      }
      client.jwks_url = *jwks_uri;
      client.jwks_json.clear();
    } else if (jwks != nullptr && !jwks->is_null()) {
      auto keys = auth::KeySet::FromJwks(*jwks);
      if (!jwks->is_object() || !keys.ok() || keys->empty()) {
        return Invalid("jwks must be a JWK Set with at least one usable public key");
      }
      client.jwks_json = json::Serialize(*jwks);
      client.jwks_url.clear();
    } else {
      return Invalid("private_key_jwt needs jwks_uri or jwks");
    }
  }

  // Attestation: yes/no answers to the fixed questions.
  const json::Value* att = body.Find("attestation");
  if ((att != nullptr && !att->is_null()) || !merge) {
    json::Value answers = json::Value::MakeObject();
    if (att != nullptr && !att->is_null()) {
      if (!att->is_object()) {
        return Invalid("attestation must be an object of true/false answers");
      }
      for (const json::Value::Member& m : att->object()) {
        const auto& qs = AttestationQuestions();
        if (std::none_of(qs.begin(), qs.end(),
                         [&](const AttestationQuestion& q) { return q.key == m.key; })) {
          return Invalid("attestation has an unknown question '" + m.key + "'");
        }
        if (!m.value.is_bool()) {
          return Invalid("attestation." + m.key + " must be true or false");
        }
      }
      for (const AttestationQuestion& q : AttestationQuestions()) {
        if (const json::Value* v = att->Find(q.key)) {
          answers.Set(q.key, *v);
        }
      }
    }
    client.attestation = json::Serialize(answers);
  }
  return std::nullopt;
}

json::Value ClientMetadataJson(const store::Client& c) {
  json::Value v = json::Value::MakeObject();
  auto str = [&](const char* key, const std::string& value) {
    if (!value.empty()) {
      v.Set(key, json::Value::String(value));
    }
  };
  auto list = [](const std::vector<std::string>& items) {
    json::Value a = json::Value::MakeArray();
    for (const std::string& s : items) {
      a.Push(json::Value::String(s));
    }
    return a;
  };
  v.Set("client_id", json::Value::String(c.client_id));
  v.Set("client_id_issued_at", json::Value::Int(c.created_at / 1000));
  str("client_name", c.name);
  v.Set("redirect_uris", list(c.redirect_uris));
  v.Set("token_endpoint_auth_method", json::Value::String(std::string(AuthMethodOf(c.type))));
  std::vector<std::string> grants = {"authorization_code", "refresh_token"};
  if (c.type == store::ClientType::kConfidentialAsymmetric) {
    grants.push_back("client_credentials");
  }
  v.Set("grant_types", list(grants));
  v.Set("response_types", list({"code"}));
  str("scope", c.scope);
  str("client_uri", c.client_uri);
  str("policy_uri", c.policy_uri);
  str("tos_uri", c.tos_uri);
  str("logo_uri", c.logo_uri);
  v.Set("contacts", list(c.contacts));
  str("jwks_uri", c.jwks_url);
  if (!c.jwks_json.empty()) {
    if (auto keys = json::Parse(c.jwks_json); keys.ok()) {
      v.Set("jwks", std::move(*keys));
    }
  }
  auto att = json::Parse(c.attestation.empty() ? "{}" : c.attestation);
  v.Set("attestation", att.ok() && att->is_object() ? std::move(*att) : json::Value::MakeObject());
  v.Set("status", json::Value::String(store::ClientStatusName(c.status)));
  str("registered_by", c.registered_by);
  v.Set("updated_at", json::Value::Int(c.updated_at / 1000));
  return v;
}

Registration PrepareRegistration(const json::Value& body, const MetadataPolicy& policy,
                                 const std::string& registered_by, store::ClientStatus status,
                                 base::Millis now) {
  Registration out;
  store::Client& c = out.created.client;
  if (auto err = ApplyClientMetadata(body, MetadataMode::kCreate, policy, c)) {
    out.error = std::move(err);
    return out;
  }
  auto id = auth::RandomIdentifier(18);
  if (!id.ok()) {
    out.error = MetadataError{"temporarily_unavailable", "no randomness available"};
    return out;
  }
  c.client_id = *id;
  if (c.type == store::ClientType::kConfidentialSymmetric) {
    auto secret = auth::RandomToken(32);
    StatusOr<std::string> hash = secret.status();
    if (secret.ok()) {
      hash = auth::HashClientSecret(*secret);
    }
    if (!hash.ok()) {
      out.error = MetadataError{"temporarily_unavailable", "could not create a client secret"};
      return out;
    }
    out.created.secret = *secret;
    c.secret_hash = *hash;
  }
  c.status = status;
  c.registered_by = registered_by;
  c.created_at = now;
  c.updated_at = now;
  return out;
}

json::Value RegistrationResponse(const NewClient& created) {
  json::Value v = ClientMetadataJson(created.client);
  if (!created.secret.empty()) {
    v.Set("client_secret", json::Value::String(created.secret));
    v.Set("client_secret_expires_at", json::Value::Int(0));
  }
  return v;
}

}  // namespace portico::oauth
