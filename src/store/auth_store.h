// Storage for the authorization server: registered clients, member accounts and whom they may act
// for, authorization requests and codes, grants (with their refresh tokens), signing keys, login
// sessions and the audit trail. Secrets never reach the store in clear: callers pass hashes.
// Thread-safe. Implementations: store/sqlite (SqliteAuthStore).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/status.h"
#include "src/base/time.h"

namespace portico::store {

enum class ClientType { kConfidentialSymmetric, kConfidentialAsymmetric, kPublic };

// kPending: registered dynamically (RFC 7591, review mode) and waiting for an operator. Only an
// active client may authorize, use the token endpoint, or have its tokens honoured.
enum class ClientStatus { kActive, kSuspended, kPending };

// "active", "suspended", "pending" (the stored and displayed names).
inline const char* ClientStatusName(ClientStatus status) {
  switch (status) {
    case ClientStatus::kActive:
      return "active";
    case ClientStatus::kSuspended:
      return "suspended";
    case ClientStatus::kPending:
      return "pending";
  }
  return "suspended";
}

// False (and `out` unchanged) for any other text.
inline bool ParseClientStatus(std::string_view text, ClientStatus& out) {
  for (ClientStatus s : {ClientStatus::kActive, ClientStatus::kSuspended, ClientStatus::kPending}) {
    if (text == ClientStatusName(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

// A registered app. The registration fields are named after RFC 7591 client metadata.
struct Client {
  std::string client_id;
  std::string name;  // client_name
  ClientType type = ClientType::kConfidentialSymmetric;
  std::string secret_hash;  // keyed hash of the client secret (symmetric clients)
  std::string jwks_url;     // asymmetric clients: where their keys are (jwks_uri)
  std::string jwks_json;    // asymmetric clients: their keys inline (jwks)
  std::vector<std::string> redirect_uris;
  std::string scope;       // scopes the client may ask for ("" = any)
  std::string client_uri;  // the app's home page
  std::string policy_uri;  // its privacy policy
  std::string tos_uri;     // its terms of service
  std::string logo_uri;
  std::vector<std::string> contacts;  // e-mail addresses of the people responsible
  std::string attestation;  // JSON object text: the app's answers (oauth/client_metadata.h)
  ClientStatus status = ClientStatus::kActive;
  std::string registered_by;  // "cli", "operator:<name>" or "dynamic"
  base::Millis created_at = 0;
  base::Millis updated_at = 0;

  bool active() const { return status == ClientStatus::kActive; }
};

// An operator account for the admin API and pages (/admin).
struct Operator {
  std::string username;
  std::string password_hash;  // Argon2id PHC string
  int failed_logins = 0;
  base::Millis locked_until = 0;
  base::Millis created_at = 0;
};

struct User {
  std::string username;
  std::string password_hash;  // Argon2id PHC string
  std::string patient_id;     // the member's own record ("" for a pure delegate)
  std::string fhir_user;      // e.g. "RelatedPerson/x" for a delegate ("" = Patient/<patient_id>)
  std::vector<std::string> represents;  // members this user may act for
  int failed_logins = 0;
  base::Millis locked_until = 0;
  base::Millis created_at = 0;
};

// An authorization request between /authorize and the code, kept server-side.
struct AuthRequest {
  std::string id_hash;       // SHA-256 of the transaction id in the pages' URLs
  std::string session_hash;  // SHA-256 of the browser session cookie that started it
  std::string csrf_token;    // expected in every form post of this transaction
  std::string client_id;
  std::string redirect_uri;
  std::string scope;  // as requested
  std::string state;
  std::string nonce;
  std::string code_challenge;
  std::string code_challenge_method;
  std::string username;    // set after login
  std::string patient_id;  // set after login (self) or the picker (delegate)
  base::Millis expires_at = 0;
};

struct AuthCode {
  std::string code_hash;  // SHA-256 of the code
  std::string client_id;
  std::string redirect_uri;
  std::string scope;  // as granted
  std::string username;
  std::string patient_id;
  std::string nonce;
  std::string code_challenge;
  std::string code_challenge_method;
  std::string grant_id;  // the grant this code creates
  base::Millis expires_at = 0;
  bool used = false;
};

struct Grant {
  std::string grant_id;
  std::string client_id;
  std::string username;
  std::string patient_id;
  std::string scope;
  std::string refresh_hash;  // SHA-256 of the current refresh token ("" = none)
  base::Millis refresh_expires_at = 0;
  base::Millis created_at = 0;
  base::Millis last_used_at = 0;
  bool revoked = false;
};

struct SigningKeyRecord {
  std::string kid;
  std::string private_pem;  // secret: never logged
  base::Millis created_at = 0;
  base::Millis retired_at = 0;  // 0 = current; retired keys are still published until expired
};

struct AuditEvent {
  base::Millis at = 0;
  std::string event;  // e.g. "grant.created", "login.failed", "token.refreshed", "fhir.read"
  std::string client_id;
  std::string username;
  std::string patient_id;
  std::string detail;  // never tokens, secrets or resource bodies
};

class AuthStore {
 public:
  virtual ~AuthStore() = default;

  // Clients.
  virtual Status PutClient(const Client& client) = 0;  // insert or replace
  virtual StatusOr<std::optional<Client>> GetClient(const std::string& client_id) = 0;
  virtual StatusOr<std::vector<Client>> ListClients() = 0;
  virtual StatusOr<bool> RemoveClient(const std::string& client_id) = 0;
  // Sets a client's status (and updated_at). Returns false when there is no such client. Grants
  // are kept: suspending a client stops them through GrantActive; activating restores them.
  virtual StatusOr<bool> SetClientStatus(const std::string& client_id, ClientStatus status,
                                         base::Millis updated_at) = 0;

  // Operators.
  virtual Status PutOperator(const Operator& op) = 0;  // insert or replace
  virtual StatusOr<std::optional<Operator>> GetOperator(const std::string& username) = 0;
  virtual StatusOr<std::vector<Operator>> ListOperators() = 0;  // ordered by username
  virtual StatusOr<bool> RemoveOperator(const std::string& username) = 0;
  // As RecordLoginFailure / ResetLoginFailures, for operator accounts.
  virtual Status RecordOperatorFailure(const std::string& username, base::Millis lock_until) = 0;
  virtual Status ResetOperatorFailures(const std::string& username) = 0;

  // Users.
  virtual Status PutUser(const User& user) = 0;  // insert or replace (with `represents`)
  virtual StatusOr<std::optional<User>> GetUser(const std::string& username) = 0;
  virtual StatusOr<std::vector<User>> ListUsers() = 0;
  virtual StatusOr<bool> RemoveUser(const std::string& username) = 0;
  // Records a failed login; locks the account until `lock_until` when `lock_until` > 0.
  virtual Status RecordLoginFailure(const std::string& username, base::Millis lock_until) = 0;
  virtual Status ResetLoginFailures(const std::string& username) = 0;

  // Authorization requests (pages in progress).
  virtual Status PutAuthRequest(const AuthRequest& request) = 0;  // insert or replace
  virtual StatusOr<std::optional<AuthRequest>> GetAuthRequest(const std::string& id_hash) = 0;
  virtual Status DeleteAuthRequest(const std::string& id_hash) = 0;
  // Starts a new authorization request within limits (0 = no limit), in one transaction: first
  // deletes every request that expired before `now`, then refuses with kResourceExhausted when
  // the browser session (`session_hash`) already has `max_per_session`, or the client already has
  // `max_per_client`, requests that have not expired; otherwise inserts `request` (as
  // PutAuthRequest). Concurrent callers may overshoot a limit by at most their number.
  virtual Status AddAuthRequest(const AuthRequest& request, base::Millis now, int max_per_session,
                                int max_per_client) = 0;

  // Codes. RedeemCode atomically marks an unused code used and returns it; a code that was
  // already used comes back with used = true (so the caller can revoke what it issued). When the
  // code was unused and `grant_for` (if set) returns a grant, that grant is stored (as PutGrant)
  // in the same transaction, so a code exchange is one durable commit. `grant_for` runs under
  // the store's write lock: it must only decide, never call the store.
  using GrantFor = std::function<std::optional<Grant>(const AuthCode&)>;
  virtual Status PutCode(const AuthCode& code) = 0;
  virtual StatusOr<std::optional<AuthCode>> RedeemCode(const std::string& code_hash,
                                                       const GrantFor& grant_for) = 0;
  StatusOr<std::optional<AuthCode>> TakeCode(const std::string& code_hash) {
    return RedeemCode(code_hash, nullptr);
  }
  // Inserts a new code (as PutCode) unless its user already holds `max_per_user` codes that are
  // neither used nor expired at `now` (kResourceExhausted; 0 = no limit).
  virtual Status AddCode(const AuthCode& code, base::Millis now, int max_per_user) = 0;

  // Grants.
  virtual Status PutGrant(const Grant& grant) = 0;  // insert or replace
  virtual StatusOr<std::optional<Grant>> GetGrant(const std::string& grant_id) = 0;
  virtual StatusOr<std::optional<Grant>> FindGrantByRefresh(const std::string& refresh_hash) = 0;
  // Replaces the refresh token of a live grant only if it still is `old_hash` (rotation without
  // races), and records the use (`used_at` > 0: last_used_at) in the same write. Returns false
  // when it was not.
  virtual StatusOr<bool> RotateRefresh(const std::string& grant_id, const std::string& old_hash,
                                       const std::string& new_hash, base::Millis expires_at,
                                       base::Millis used_at = 0) = 0;
  virtual Status RevokeGrant(const std::string& grant_id) = 0;
  // Revokes every live grant of a user (optionally only those for one patient).
  virtual Status RevokeGrantsOf(const std::string& username, const std::string& patient_id) = 0;
  virtual StatusOr<std::vector<Grant>> ListGrants(const std::string& username) = 0;
  // Every grant (of any user) for one of `patient_ids`, oldest first: the apps that hold access
  // to the records a member or delegate controls.
  virtual StatusOr<std::vector<Grant>> ListGrantsForPatients(
      const std::vector<std::string>& patient_ids) = 0;
  // Keeps at most `max_live` unrevoked grants of (username, client_id): revokes the oldest ones
  // (by created_at, then grant_id) beyond that, never `keep_grant_id` (the grant just issued).
  // Returns how many it revoked. `max_live` <= 0 revokes nothing.
  virtual StatusOr<int> SupersedeGrants(const std::string& username, const std::string& client_id,
                                        const std::string& keep_grant_id, int max_live) = 0;
  // True when the grant exists, is not revoked, and its client is active (hot path: called on
  // every FHIR request; one query). A grant whose client_id names no registered client (operator
  // tokens) depends on revocation alone: removing a client revokes its grants.
  virtual StatusOr<bool> GrantActive(const std::string& grant_id) = 0;
  virtual Status TouchGrant(const std::string& grant_id, base::Millis at) = 0;

  // Signing keys, oldest first.
  virtual StatusOr<std::vector<SigningKeyRecord>> ListSigningKeys() = 0;
  virtual Status PutSigningKey(const SigningKeyRecord& key) = 0;
  virtual Status RetireSigningKeys(base::Millis at) = 0;  // marks all current keys retired

  // Audit trail.
  virtual Status Audit(const AuditEvent& event) = 0;
  // Records several events; backends override this to write them in one transaction.
  virtual Status AuditBatch(const std::vector<AuditEvent>& events) {
    for (const AuditEvent& e : events) {
      RETURN_IF_ERROR(Audit(e));
    }
    return Status::Ok();
  }
  virtual StatusOr<std::vector<AuditEvent>> ListAudit(int limit) = 0;
  // The newest `limit` events of the kinds `events` about one of `patient_ids`, newest first.
  virtual StatusOr<std::vector<AuditEvent>> ListAuditForPatients(
      const std::vector<std::string>& patient_ids, const std::vector<std::string>& events,
      int limit) = 0;

  // A secret shared by every node on this database: returns the value stored under `name`,
  // storing `candidate` first when there is none (the first node to ask decides).
  virtual StatusOr<std::string> SharedSecret(const std::string& name, const std::string& candidate,
                                             base::Millis now) = 0;
};

}  // namespace portico::store
