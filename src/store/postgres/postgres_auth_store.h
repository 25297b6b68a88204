// The PostgreSQL backend of AuthStore, in the same database as PostgresStore and on its primary
// pool only (never the read replica): codes, grants, revocations and signing keys written by one
// node are seen by every node's next statement, which is what makes app nodes stateless.
//
// Contracts beyond AuthStore: the same as SqliteAuthStore (see sqlite_auth_store.h), namely
// PutCode / PutSigningKey never overwrite (kAborted), PutGrant refuses a refresh hash held by
// another grant, RedeemCode has exactly one winner among concurrent callers (on any node),
// RotateRefresh never matches an empty `old_hash`, unknown ids are no-ops, RemoveUser /
// RemoveClient revoke grants in the same transaction, list orders as documented there, expired
// requests and codes are purged opportunistically, and no error message carries a secret.
//
// Thread-safe.
#pragma once

#include <memory>

#include "src/store/auth_store.h"
#include "src/store/postgres/postgres_store.h"

namespace portico::store::postgres {

class PostgresAuthStore : public AuthStore {
 public:
  // REQUIRES: `store` outlives the returned object. The schema is PostgresStore's.
  explicit PostgresAuthStore(PostgresStore& store) : store_(store) {}
  ~PostgresAuthStore() override = default;
  PostgresAuthStore(const PostgresAuthStore&) = delete;
  PostgresAuthStore& operator=(const PostgresAuthStore&) = delete;

  Status PutClient(const Client& client) override;
  StatusOr<std::optional<Client>> GetClient(const std::string& client_id) override;
  StatusOr<std::vector<Client>> ListClients() override;
  StatusOr<bool> RemoveClient(const std::string& client_id) override;
  StatusOr<bool> SetClientStatus(const std::string& client_id, ClientStatus status,
                                 base::Millis updated_at) override;

  Status PutOperator(const Operator& op) override;
  StatusOr<std::optional<Operator>> GetOperator(const std::string& username) override;
  StatusOr<std::vector<Operator>> ListOperators() override;
  StatusOr<bool> RemoveOperator(const std::string& username) override;
  Status RecordOperatorFailure(const std::string& username, base::Millis lock_until) override;
  Status ResetOperatorFailures(const std::string& username) override;

  Status PutUser(const User& user) override;
  StatusOr<std::optional<User>> GetUser(const std::string& username) override;
  StatusOr<std::vector<User>> ListUsers() override;
  StatusOr<bool> RemoveUser(const std::string& username) override;
  Status RecordLoginFailure(const std::string& username, base::Millis lock_until) override;
  Status ResetLoginFailures(const std::string& username) override;

  Status PutAuthRequest(const AuthRequest& request) override;
  StatusOr<std::optional<AuthRequest>> GetAuthRequest(const std::string& id_hash) override;
  Status DeleteAuthRequest(const std::string& id_hash) override;
  Status AddAuthRequest(const AuthRequest& request, base::Millis now, int max_per_session,
                        int max_per_client) override;

  Status PutCode(const AuthCode& code) override;
  StatusOr<std::optional<AuthCode>> RedeemCode(const std::string& code_hash,
                                               const GrantFor& grant_for) override;
  Status AddCode(const AuthCode& code, base::Millis now, int max_per_user) override;

  Status PutGrant(const Grant& grant) override;
  StatusOr<std::optional<Grant>> GetGrant(const std::string& grant_id) override;
  StatusOr<std::optional<Grant>> FindGrantByRefresh(const std::string& refresh_hash) override;
  StatusOr<bool> RotateRefresh(const std::string& grant_id, const std::string& old_hash,
                               const std::string& new_hash, base::Millis expires_at,
                               base::Millis used_at = 0) override;
  Status RevokeGrant(const std::string& grant_id) override;
  Status RevokeGrantsOf(const std::string& username, const std::string& patient_id) override;
  StatusOr<std::vector<Grant>> ListGrants(const std::string& username) override;
  StatusOr<std::vector<Grant>> ListGrantsForPatients(
      const std::vector<std::string>& patient_ids) override;
  StatusOr<int> SupersedeGrants(const std::string& username, const std::string& client_id,
                                const std::string& keep_grant_id, int max_live) override;
  StatusOr<bool> GrantActive(const std::string& grant_id) override;
  Status TouchGrant(const std::string& grant_id, base::Millis at) override;

  StatusOr<std::vector<SigningKeyRecord>> ListSigningKeys() override;
  Status PutSigningKey(const SigningKeyRecord& key) override;
  Status RetireSigningKeys(base::Millis at) override;

  Status Audit(const AuditEvent& event) override;
  // One COPY in one transaction.
  Status AuditBatch(const std::vector<AuditEvent>& events) override;
  StatusOr<std::vector<AuditEvent>> ListAudit(int limit) override;
  StatusOr<std::vector<AuditEvent>> ListAuditForPatients(
      const std::vector<std::string>& patient_ids, const std::vector<std::string>& events,
      int limit) override;
  StatusOr<std::string> SharedSecret(const std::string& name, const std::string& candidate,
                                     base::Millis now) override;

 private:
  // Runs one statement on a primary connection (retried once on a fresh connection when the
  // pooled one turned out broken before the statement could run).
  StatusOr<PgResult> Exec(const std::string& sql, const std::vector<sql::Param>& params);
  // Runs `fn` inside BEGIN ... COMMIT on one primary connection; `snapshot`: a read-only
  // transaction whose statements all see one snapshot.
  Status InTransaction(const std::function<Status(PgConn&)>& fn, bool snapshot = false);

  PostgresStore& store_;
};

}  // namespace portico::store::postgres
