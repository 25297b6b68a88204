// App registration with RFC 7591 client metadata (https://www.rfc-editor.org/rfc/rfc7591):
// validation, conversion between the JSON metadata and store::Client, the fixed attestation
// questions a payer asks every app, and the creation of a new client (id and secret). Shared by
// the operator API and pages (admin_server.h) and dynamic registration (/oauth/register).
// Stateless and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/status.h"
#include "src/base/time.h"
#include "src/json/json.h"
#include "src/store/auth_store.h"

namespace portico::oauth {

// One yes/no question of the app's attestation. `key` is the member name in the `attestation`
// object of the metadata and the form field name (prefixed "attest_") on the register page.
struct AttestationQuestion {
  std::string_view key;
  std::string_view text;
};

// The questions, in display order. The one place they are defined.
const std::vector<AttestationQuestion>& AttestationQuestions();

// An RFC 7591 section 3.2.2 error: `error` is invalid_redirect_uri or invalid_client_metadata.
struct MetadataError {
  std::string error;
  std::string description;
};

// Absolute https URI, or http only for the hosts localhost and 127.0.0.1; no fragment, no
// user info, no spaces or control characters. On false, `why` (if given) says what is wrong.
bool IsValidRedirectUri(std::string_view uri, std::string* why = nullptr);
// The same rules, for client_uri, policy_uri, tos_uri, logo_uri and jwks_uri.
bool IsValidWebUri(std::string_view uri, std::string* why = nullptr);
// local@domain.tld with a plausible local part and host name.
bool IsPlausibleEmail(std::string_view email);

enum class MetadataMode {
  kCreate,   // a new client: token_endpoint_auth_method picks the client type
  kReplace,  // PUT: the body is the whole metadata; absent optional fields are cleared
  kMerge,    // PATCH: only the fields present change
};

struct MetadataPolicy {
  // Dynamic registration: no system/ scopes and no client_credentials grant (a self-registered
  // app must never get backend (all-member) access).
  bool member_apps_only = false;
};

// Validates the metadata in `body` (a JSON object) and applies it to `client`. On an update the
// token_endpoint_auth_method may not change the client's type. Returns the first problem found;
// `client` may then be partly changed. Unknown members are ignored (RFC 7591 section 2).
std::optional<MetadataError> ApplyClientMetadata(const json::Value& body, MetadataMode mode,
                                                 const MetadataPolicy& policy,
                                                 store::Client& client);

// The RFC 7591 name of a client type's authentication method ("client_secret_basic",
// "private_key_jwt", "none").
std::string_view AuthMethodOf(store::ClientType type);

// The client's registration as RFC 7591 JSON plus `status`, `registered_by` and `updated_at`
// (seconds). Never contains the secret or its hash.
json::Value ClientMetadataJson(const store::Client& client);

// A new client from `body` with a generated client_id and, for confidential-symmetric clients, a
// generated secret (returned in `secret`; only its hash is kept in `client`).
struct NewClient {
  store::Client client;
  std::string secret;
};
struct Registration {
  std::optional<MetadataError> error;  // set when the metadata was refused
  NewClient created;
};
Registration PrepareRegistration(const json::Value& body, const MetadataPolicy& policy,
                                 const std::string& registered_by, store::ClientStatus status,
                                 base::Millis now);

// The response body of a successful registration: the metadata, and the secret once.
json::Value RegistrationResponse(const NewClient& created);

}  // namespace portico::oauth
