// The SQLite backend of AuthStore. It lives in the same database file as the resource store
// (SqliteStore) and shares its connections: writes go through the store's single writer connection
// under its writer lock (LockWriter()); reads borrow a read-only connection from the store's
// pool, so the hot paths (GrantActive, GetClient, FindGrantByRefresh) never wait for a writer.
//
// Tables (all prefixed auth_, schema version in schema_info under key 'auth_schema'):
//   auth_client, auth_operator, auth_user, auth_user_represents, auth_request, auth_code,
//   auth_grant, auth_signing_key, auth_audit. Opening a schema 1 file adds the registration
//   columns of auth_client (schema 2) in the same transaction. See sqlite_auth_store.cc for the
//   columns and indexes.
//
// Contracts beyond AuthStore:
//   - PutCode inserts only: a code hash that already exists is kAborted (a code is never reset to
//     unused). PutSigningKey likewise never overwrites a key (kAborted on a duplicate kid).
//   - PutGrant inserts or updates in place; a refresh_hash already held by another grant is an
//     error (never silently replaces the other grant).
//   - RedeemCode returns the code even when expired; the caller checks expires_at.
//   - RotateRefresh never matches an empty `old_hash`.
//   - RevokeGrant, TouchGrant, RecordLoginFailure and ResetLoginFailures on unknown ids are
//     no-ops returning OK.
//   - RemoveUser also deletes the user's `represents` rows and revokes the user's grants;
//     RemoveClient revokes the client's grants. Both in one transaction.
//   - ListUsers / ListClients are ordered by id; ListGrants by created_at then grant_id;
//     ListSigningKeys oldest first; ListAudit newest first (limit <= 0 yields an empty list).
//   - Expired authorization requests and codes are purged opportunistically: PutAuthRequest and
//     PutCode delete rows of their table whose expires_at is more than a day before the written
//     record's expires_at; AddAuthRequest deletes every request expired before its `now`. The
//     store never reads a clock (callers pass `now`).
//   - Error messages never contain hashes, secrets or key material.
//
// Thread-safe: every method may be called concurrently from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/store/auth_store.h"
#include "src/store/sqlite/sqlite_store.h"

namespace portico::store::sqlite {

class SqliteAuthStore : public AuthStore {
 public:
  // Creates the auth_ tables in `store`'s database if needed (inside BEGIN IMMEDIATE) and checks
  // the recorded schema version. Fails with kFailedPrecondition when the database was written by
  // a newer schema. REQUIRES: `store` outlives the returned object.
  static StatusOr<std::unique_ptr<SqliteAuthStore>> Open(SqliteStore& store);
  ~SqliteAuthStore() override = default;
  SqliteAuthStore(const SqliteAuthStore&) = delete;
  SqliteAuthStore& operator=(const SqliteAuthStore&) = delete;

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
  Status AuditBatch(const std::vector<AuditEvent>& events) override;
  StatusOr<std::vector<AuditEvent>> ListAudit(int limit) override;
  StatusOr<std::vector<AuditEvent>> ListAuditForPatients(
      const std::vector<std::string>& patient_ids, const std::vector<std::string>& events,
      int limit) override;
  StatusOr<std::string> SharedSecret(const std::string& name, const std::string& candidate,
                                     base::Millis now) override;

 private:
  explicit SqliteAuthStore(SqliteStore& store) : store_(store) {}
  Status Migrate();
  // Runs one parameterless-result write statement on the writer (autocommit), returning the
  // number of rows changed. `bind` binds the statement's parameters.
  template <typename BindFn>
  StatusOr<int> WriteOne(const std::string& sql, BindFn bind);

  SqliteStore& store_;
};

}  // namespace portico::store::sqlite
