#include "src/store/sqlite/sqlite_auth_store.h"

#include <initializer_list>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include "src/json/json.h"

namespace portico::store::sqlite {

namespace {

// 1: release 0.1. 2: registration metadata and status on auth_client, auth_operator.
constexpr int kAuthSchemaVersion = 2;
constexpr base::Millis kPurgeGraceMillis = 24LL * 60 * 60 * 1000;

// Redirect URIs are a JSON array of strings; a user's `represents` is a child table keeping order.
// Secrets are stored only as the hashes callers pass in.
constexpr const char* kAuthSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auth_client (
  client_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  jwks_url TEXT NOT NULL,
  jwks_json TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  scope TEXT NOT NULL,
  active INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  client_uri TEXT NOT NULL DEFAULT '',
  policy_uri TEXT NOT NULL DEFAULT '',
  tos_uri TEXT NOT NULL DEFAULT '',
  logo_uri TEXT NOT NULL DEFAULT '',
  contacts TEXT NOT NULL DEFAULT '[]',
  attestation TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'active',
  registered_by TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_operator (
  username TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  failed_logins INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_user (
  username TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  fhir_user TEXT NOT NULL,
  failed_logins INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_user_represents (
  username TEXT NOT NULL,
  ord INTEGER NOT NULL,
  patient_id TEXT NOT NULL,
  PRIMARY KEY (username, ord)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_user_represents_patient ON auth_user_represents (patient_id);
CREATE TABLE IF NOT EXISTS auth_request (
  id_hash TEXT PRIMARY KEY,
  session_hash TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  scope TEXT NOT NULL,
  state TEXT NOT NULL,
  nonce TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  code_challenge_method TEXT NOT NULL,
  username TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_request_expires ON auth_request (expires_at);
CREATE INDEX IF NOT EXISTS auth_request_session ON auth_request (session_hash);
CREATE INDEX IF NOT EXISTS auth_request_client ON auth_request (client_id);
CREATE INDEX IF NOT EXISTS auth_request_session ON auth_request (session_hash);
CREATE INDEX IF NOT EXISTS auth_request_client ON auth_request (client_id);
CREATE TABLE IF NOT EXISTS auth_code (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  scope TEXT NOT NULL,
  username TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  code_challenge_method TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_code_expires ON auth_code (expires_at);
CREATE INDEX IF NOT EXISTS auth_code_user ON auth_code (username);
CREATE INDEX IF NOT EXISTS auth_code_user ON auth_code (username);
CREATE TABLE IF NOT EXISTS auth_grant (
  grant_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  username TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  refresh_hash TEXT NOT NULL,
  refresh_expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS auth_grant_refresh ON auth_grant (refresh_hash)
  WHERE refresh_hash <> '';
CREATE INDEX IF NOT EXISTS auth_grant_user ON auth_grant (username, patient_id);
CREATE INDEX IF NOT EXISTS auth_grant_client ON auth_grant (client_id);
CREATE TABLE IF NOT EXISTS auth_signing_key (
  kid TEXT PRIMARY KEY,
  private_pem TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  client_id TEXT NOT NULL,
  username TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_audit_at ON auth_audit (at);
CREATE INDEX IF NOT EXISTS auth_audit_patient ON auth_audit (patient_id, at);
CREATE INDEX IF NOT EXISTS auth_grant_patient ON auth_grant (patient_id);
CREATE TABLE IF NOT EXISTS auth_secret (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Schema 1 files gain the registration columns in Migrate(). `active` mirrors status = 'active'
// (kept for readers of schema 1).
constexpr const char* kUpgradeTo2 = R"sql(
ALTER TABLE auth_client ADD COLUMN client_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN policy_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN tos_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN logo_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE auth_client ADD COLUMN attestation TEXT NOT NULL DEFAULT '{}';
ALTER TABLE auth_client ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE auth_client ADD COLUMN registered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE auth_client SET status = CASE WHEN active <> 0 THEN 'active' ELSE 'suspended' END,
  registered_by = 'cli', updated_at = created_at;
)sql";

constexpr const char* kClientColumns =
    "client_id, name, type, secret_hash, jwks_url, jwks_json, redirect_uris, scope, active, "
    "created_at, client_uri, policy_uri, tos_uri, logo_uri, contacts, attestation, status, "
    "registered_by, updated_at";
constexpr const char* kOperatorColumns =
    "username, password_hash, failed_logins, locked_until, created_at";
constexpr const char* kUserColumns =
    "username, password_hash, patient_id, fhir_user, failed_logins, locked_until, created_at";
constexpr const char* kRequestColumns =
    "id_hash, session_hash, csrf_token, client_id, redirect_uri, scope, state, nonce, "
    "code_challenge, code_challenge_method, username, patient_id, expires_at";
constexpr const char* kCodeColumns =
    "code_hash, client_id, redirect_uri, scope, username, patient_id, nonce, code_challenge, "
    "code_challenge_method, grant_id, expires_at, used";
constexpr const char* kGrantColumns =
    "grant_id, client_id, username, patient_id, scope, refresh_hash, refresh_expires_at, "
    "created_at, last_used_at, revoked";
constexpr const char* kKeyColumns = "kid, private_pem, created_at, retired_at";
constexpr const char* kAuditColumns = "at, event, client_id, username, patient_id, detail";

std::string Sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out += p;
  }
  return out;
}

// Resets a cached statement when leaving scope, so a pooled connection never keeps a read
// transaction (and its WAL snapshot) open between calls.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement* st) : st_(st) {}
  ~ResetOnExit() { st_->Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement* st_;
};

// A read transaction on a pooled reader, for reads that span several statements and must see one
// snapshot. Ends (COMMIT) when leaving scope.
class ReadTxn {
 public:
  explicit ReadTxn(Connection& db) : db_(db) {}
  ~ReadTxn() {
    if (open_) {
      (void)db_.RunCached("COMMIT");
    }
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

  Status Begin() {
    RETURN_IF_ERROR(db_.RunCached("BEGIN"));
    open_ = true;
    return Status::Ok();
  }

 private:
  Connection& db_;
  bool open_ = false;
};

std::string ClientTypeName(ClientType t) {
  switch (t) {
    case ClientType::kConfidentialSymmetric:
      return "confidential-symmetric";
    case ClientType::kConfidentialAsymmetric:
      return "confidential-asymmetric";
    case ClientType::kPublic:
      return "public";
  }
  return "confidential-symmetric";
}

StatusOr<ClientType> ParseClientType(std::string_view s) {
  if (s == "confidential-symmetric") {
    return ClientType::kConfidentialSymmetric;
  }
  if (s == "confidential-asymmetric") {
    return ClientType::kConfidentialAsymmetric;
  }
  if (s == "public") {
    return ClientType::kPublic;
  }
  return InternalError("auth_client has an unknown client type");
}

std::string EncodeStringArray(const std::vector<std::string>& items) {
  json::Value arr = json::Value::MakeArray();
  for (const std::string& s : items) {
    arr.Push(json::Value::String(s));
  }
  return json::Serialize(arr);
}

StatusOr<std::vector<std::string>> DecodeStringArray(std::string_view text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_array()) {
    return InternalError("auth_client has a malformed string list");
  }
  std::vector<std::string> out;
  for (const json::Value& v : parsed->array()) {
    if (!v.is_string()) {
      return InternalError("auth_client has a malformed string list");
    }
    out.push_back(v.str());
  }
  return out;
}

StatusOr<Client> RowToClient(const Statement& st) {
  Client c;
  c.client_id = std::string(st.Text(0));
  c.name = std::string(st.Text(1));
  ASSIGN_OR_RETURN(c.type, ParseClientType(st.Text(2)));
  c.secret_hash = std::string(st.Text(3));
  c.jwks_url = std::string(st.Text(4));
  c.jwks_json = std::string(st.Text(5));
  ASSIGN_OR_RETURN(c.redirect_uris, DecodeStringArray(st.Text(6)));
  c.scope = std::string(st.Text(7));
  c.created_at = st.Int(9);
  c.client_uri = std::string(st.Text(10));
  c.policy_uri = std::string(st.Text(11));
  c.tos_uri = std::string(st.Text(12));
  c.logo_uri = std::string(st.Text(13));
  ASSIGN_OR_RETURN(c.contacts, DecodeStringArray(st.Text(14)));
  c.attestation = std::string(st.Text(15));
  if (!ParseClientStatus(st.Text(16), c.status)) {
    return InternalError("auth_client has an unknown status");
  }
  c.registered_by = std::string(st.Text(17));
  c.updated_at = st.Int(18);
  return c;
}

Operator RowToOperator(const Statement& st) {
  Operator o;
  o.username = std::string(st.Text(0));
  o.password_hash = std::string(st.Text(1));
  o.failed_logins = static_cast<int>(st.Int(2));
  o.locked_until = st.Int(3);
  o.created_at = st.Int(4);
  return o;
}

User RowToUser(const Statement& st) {
  User u;
  u.username = std::string(st.Text(0));
  u.password_hash = std::string(st.Text(1));
  u.patient_id = std::string(st.Text(2));
  u.fhir_user = std::string(st.Text(3));
  u.failed_logins = static_cast<int>(st.Int(4));
  u.locked_until = st.Int(5);
  u.created_at = st.Int(6);
  return u;
}

AuthRequest RowToRequest(const Statement& st) {
  AuthRequest r;
  r.id_hash = std::string(st.Text(0));
  r.session_hash = std::string(st.Text(1));
  r.csrf_token = std::string(st.Text(2));
  r.client_id = std::string(st.Text(3));
  r.redirect_uri = std::string(st.Text(4));
  r.scope = std::string(st.Text(5));
  r.state = std::string(st.Text(6));
  r.nonce = std::string(st.Text(7));
  r.code_challenge = std::string(st.Text(8));
  r.code_challenge_method = std::string(st.Text(9));
  r.username = std::string(st.Text(10));
  r.patient_id = std::string(st.Text(11));
  r.expires_at = st.Int(12);
  return r;
}

AuthCode RowToCode(const Statement& st) {
  AuthCode c;
  c.code_hash = std::string(st.Text(0));
  c.client_id = std::string(st.Text(1));
  c.redirect_uri = std::string(st.Text(2));
  c.scope = std::string(st.Text(3));
  c.username = std::string(st.Text(4));
  c.patient_id = std::string(st.Text(5));
  c.nonce = std::string(st.Text(6));
  c.code_challenge = std::string(st.Text(7));
  c.code_challenge_method = std::string(st.Text(8));
  c.grant_id = std::string(st.Text(9));
  c.expires_at = st.Int(10);
  c.used = st.Int(11) != 0;
  return c;
}

Grant RowToGrant(const Statement& st) {
  Grant g;
  g.grant_id = std::string(st.Text(0));
  g.client_id = std::string(st.Text(1));
  g.username = std::string(st.Text(2));
  g.patient_id = std::string(st.Text(3));
  g.scope = std::string(st.Text(4));
  g.refresh_hash = std::string(st.Text(5));
  g.refresh_expires_at = st.Int(6);
  g.created_at = st.Int(7);
  g.last_used_at = st.Int(8);
  g.revoked = st.Int(9) != 0;
  return g;
}

SigningKeyRecord RowToKey(const Statement& st) {
  SigningKeyRecord k;
  k.kid = std::string(st.Text(0));
  k.private_pem = std::string(st.Text(1));
  k.created_at = st.Int(2);
  k.retired_at = st.Int(3);
  return k;
}

AuditEvent RowToAudit(const Statement& st) {
  AuditEvent e;
  e.at = st.Int(0);
  e.event = std::string(st.Text(1));
  e.client_id = std::string(st.Text(2));
  e.username = std::string(st.Text(3));
  e.patient_id = std::string(st.Text(4));
  e.detail = std::string(st.Text(5));
  return e;
}

// Runs a query on `db` and collects every row through `convert` (returning T or StatusOr<T>).
template <typename T, typename BindFn, typename ConvertFn>
StatusOr<std::vector<T>> QueryAll(Connection& db, const std::string& sql, BindFn bind,
                                  ConvertFn convert) {
  ASSIGN_OR_RETURN(Statement * st, db.Cached(sql));
  ResetOnExit reset(st);
  bind(*st);
  std::vector<T> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) {
      break;
    }
    ASSIGN_OR_RETURN(T item, StatusOr<T>(convert(*st)));
    out.push_back(std::move(item));
  }
  return out;
}

// Runs a query expected to return at most one row.
template <typename T, typename BindFn, typename ConvertFn>
StatusOr<std::optional<T>> QueryOne(Connection& db, const std::string& sql, BindFn bind,
                                    ConvertFn convert) {
  ASSIGN_OR_RETURN(Statement * st, db.Cached(sql));
  ResetOnExit reset(st);
  bind(*st);
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) {
    return std::optional<T>();
  }
  ASSIGN_OR_RETURN(T item, StatusOr<T>(convert(*st)));
  return std::optional<T>(std::move(item));
}

// Runs a write statement on `db`, returning the number of rows it changed.
template <typename BindFn>
StatusOr<int> Execute(Connection& db, const std::string& sql, BindFn bind) {
  ASSIGN_OR_RETURN(Statement * st, db.Cached(sql));
  ResetOnExit reset(st);
  bind(*st);
  RETURN_IF_ERROR(st->Run());
  return db.Changes();
}

void NoBind(Statement&) {}

Status UpsertGrant(Connection& db, const Grant& g) {
  static const std::string kSql = Sql(
      {"INSERT INTO auth_grant (", kGrantColumns,
       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (grant_id) DO UPDATE SET "
       "client_id = excluded.client_id, username = excluded.username, "
       "patient_id = excluded.patient_id, scope = excluded.scope, "
       "refresh_hash = excluded.refresh_hash, refresh_expires_at = excluded.refresh_expires_at, "
       "created_at = excluded.created_at, last_used_at = excluded.last_used_at, "
       "revoked = excluded.revoked"});
  return Execute(db, kSql,
                 [&](Statement& st) {
                   st.Bind(1, g.grant_id).Bind(2, g.client_id).Bind(3, g.username);
                   st.Bind(4, g.patient_id).Bind(5, g.scope).Bind(6, g.refresh_hash);
                   st.Bind(7, g.refresh_expires_at).Bind(8, g.created_at).Bind(9, g.last_used_at);
                   st.Bind(10, int64_t{g.revoked ? 1 : 0});
                 })
      .status();
}

}  // namespace

StatusOr<std::unique_ptr<SqliteAuthStore>> SqliteAuthStore::Open(SqliteStore& store) {
  std::unique_ptr<SqliteAuthStore> auth(new SqliteAuthStore(store));
  RETURN_IF_ERROR(auth->Migrate());
  return auth;
}

Status SqliteAuthStore::Migrate() {
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  Connection& db = txn.db();
  RETURN_IF_ERROR(db.Exec(kAuthSchema));
  ASSIGN_OR_RETURN(auto st, db.Prepare("SELECT value FROM schema_info WHERE key = 'auth_schema'"));
  ASSIGN_OR_RETURN(bool row, st->Step());
  if (row) {
    std::string text(st->Text(0));
    st.reset();
    int64_t version = 0;
    for (char c : text) {
      if (c < '0' || c > '9' || version > 1000000) {
        return InternalError("schema_info has a malformed auth_schema version");
      }
      version = version * 10 + (c - '0');
    }
    if (text.empty()) {
      return InternalError("schema_info has a malformed auth_schema version");
    }
    if (version > kAuthSchemaVersion) {
      return Status(StatusCode::kFailedPrecondition, "auth schema " + std::to_string(version) +
                                                         " is newer than this server supports (" +
                                                         std::to_string(kAuthSchemaVersion) + ")");
    }
    if (version < 2) {
      RETURN_IF_ERROR(db.Exec(kUpgradeTo2));
    }
    if (version < kAuthSchemaVersion) {
      ASSIGN_OR_RETURN(auto up,
                       db.Prepare("UPDATE schema_info SET value = ? WHERE key = 'auth_schema'"));
      up->Bind(1, std::to_string(kAuthSchemaVersion));
      RETURN_IF_ERROR(up->Run());
    }
  } else {
    st.reset();
    ASSIGN_OR_RETURN(auto ins,
                     db.Prepare("INSERT INTO schema_info (key, value) VALUES ('auth_schema', ?)"));
    ins->Bind(1, std::to_string(kAuthSchemaVersion));
    RETURN_IF_ERROR(ins->Run());
  }
  return txn.Commit();
}

template <typename BindFn>
StatusOr<int> SqliteAuthStore::WriteOne(const std::string& sql, BindFn bind) {
  SqliteStore::WriterLock lock = store_.LockWriter();
  return Execute(store_.writer(), sql, bind);
}

// ---- Clients ----

Status SqliteAuthStore::PutClient(const Client& client) {
  static const std::string kSql =
      Sql({"INSERT INTO auth_client (", kClientColumns,
           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (client_id) DO UPDATE SET "
           "name = excluded.name, type = excluded.type, secret_hash = excluded.secret_hash, "
           "jwks_url = excluded.jwks_url, jwks_json = excluded.jwks_json, "
           "redirect_uris = excluded.redirect_uris, scope = excluded.scope, "
           "active = excluded.active, created_at = excluded.created_at, "
           "client_uri = excluded.client_uri, policy_uri = excluded.policy_uri, "
           "tos_uri = excluded.tos_uri, logo_uri = excluded.logo_uri, "
           "contacts = excluded.contacts, attestation = excluded.attestation, "
           "status = excluded.status, registered_by = excluded.registered_by, "
           "updated_at = excluded.updated_at"});
  std::string uris = EncodeStringArray(client.redirect_uris);
  std::string contacts = EncodeStringArray(client.contacts);
  const std::string attestation = client.attestation.empty() ? "{}" : client.attestation;
  return WriteOne(
             kSql,
             [&](Statement& st) {
               st.Bind(1, client.client_id)
                   .Bind(2, client.name)
                   .Bind(3, ClientTypeName(client.type));
               st.Bind(4, client.secret_hash).Bind(5, client.jwks_url).Bind(6, client.jwks_json);
               st.Bind(7, uris).Bind(8, client.scope).Bind(9, int64_t{client.active() ? 1 : 0});
               st.Bind(10, client.created_at).Bind(11, client.client_uri);
               st.Bind(12, client.policy_uri).Bind(13, client.tos_uri).Bind(14, client.logo_uri);
               st.Bind(15, contacts).Bind(16, attestation);
               st.Bind(17, std::string(ClientStatusName(client.status)));
               st.Bind(18, client.registered_by).Bind(19, client.updated_at);
             })
      .status();
}

StatusOr<std::optional<Client>> SqliteAuthStore::GetClient(const std::string& client_id) {
  static const std::string kSql =
      Sql({"SELECT ", kClientColumns, " FROM auth_client WHERE client_id = ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryOne<Client>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, client_id); }, RowToClient);
}

StatusOr<std::vector<Client>> SqliteAuthStore::ListClients() {
  static const std::string kSql =
      Sql({"SELECT ", kClientColumns, " FROM auth_client ORDER BY client_id"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<Client>(lease->conn(), kSql, NoBind, RowToClient);
}

StatusOr<bool> SqliteAuthStore::RemoveClient(const std::string& client_id) {
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(int removed, Execute(txn.db(), "DELETE FROM auth_client WHERE client_id = ?",
                                        [&](Statement& st) { st.Bind(1, client_id); }));
  RETURN_IF_ERROR(Execute(txn.db(),
                          "UPDATE auth_grant SET revoked = 1 WHERE client_id = ? AND revoked = 0",
                          [&](Statement& st) { st.Bind(1, client_id); })
                      .status());
  RETURN_IF_ERROR(txn.Commit());
  return removed > 0;
}

StatusOr<bool> SqliteAuthStore::SetClientStatus(const std::string& client_id, ClientStatus status,
                                                base::Millis updated_at) {
  ASSIGN_OR_RETURN(int changed,
                   WriteOne("UPDATE auth_client SET status = ?, active = ?, updated_at = ? "
                            "WHERE client_id = ?",
                            [&](Statement& st) {
                              st.Bind(1, std::string(ClientStatusName(status)));
                              st.Bind(2, int64_t{status == ClientStatus::kActive ? 1 : 0});
                              st.Bind(3, updated_at).Bind(4, client_id);
                            }));
  return changed > 0;
}

// ---- Operators ----

Status SqliteAuthStore::PutOperator(const Operator& op) {
  static const std::string kSql =
      Sql({"INSERT INTO auth_operator (", kOperatorColumns,
           ") VALUES (?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
           "password_hash = excluded.password_hash, failed_logins = excluded.failed_logins, "
           "locked_until = excluded.locked_until, created_at = excluded.created_at"});
  return WriteOne(kSql,
                  [&](Statement& st) {
                    st.Bind(1, op.username).Bind(2, op.password_hash);
                    st.Bind(3, int64_t{op.failed_logins}).Bind(4, op.locked_until);
                    st.Bind(5, op.created_at);
                  })
      .status();
}

StatusOr<std::optional<Operator>> SqliteAuthStore::GetOperator(const std::string& username) {
  static const std::string kSql =
      Sql({"SELECT ", kOperatorColumns, " FROM auth_operator WHERE username = ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryOne<Operator>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, username); }, RowToOperator);
}

StatusOr<std::vector<Operator>> SqliteAuthStore::ListOperators() {
  static const std::string kSql =
      Sql({"SELECT ", kOperatorColumns, " FROM auth_operator ORDER BY username"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<Operator>(lease->conn(), kSql, NoBind, RowToOperator);
}

StatusOr<bool> SqliteAuthStore::RemoveOperator(const std::string& username) {
  ASSIGN_OR_RETURN(int removed, WriteOne("DELETE FROM auth_operator WHERE username = ?",
                                         [&](Statement& st) { st.Bind(1, username); }));
  return removed > 0;
}

Status SqliteAuthStore::RecordOperatorFailure(const std::string& username,
                                              base::Millis lock_until) {
  return WriteOne(
             "UPDATE auth_operator SET failed_logins = failed_logins + 1, "
             "locked_until = CASE WHEN ?1 > 0 THEN ?1 ELSE locked_until END "
             "WHERE username = ?2",
             [&](Statement& st) { st.Bind(1, lock_until).Bind(2, username); })
      .status();
}

Status SqliteAuthStore::ResetOperatorFailures(const std::string& username) {
  return WriteOne("UPDATE auth_operator SET failed_logins = 0, locked_until = 0 WHERE username = ?",
                  [&](Statement& st) { st.Bind(1, username); })
      .status();
}

// ---- Users ----

Status SqliteAuthStore::PutUser(const User& user) {
  static const std::string kSql =
      Sql({"INSERT INTO auth_user (", kUserColumns,
           ") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
           "password_hash = excluded.password_hash, patient_id = excluded.patient_id, "
           "fhir_user = excluded.fhir_user, failed_logins = excluded.failed_logins, "
           "locked_until = excluded.locked_until, created_at = excluded.created_at"});
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  Connection& db = txn.db();
  RETURN_IF_ERROR(Execute(db, kSql, [&](Statement& st) {
                    st.Bind(1, user.username).Bind(2, user.password_hash).Bind(3, user.patient_id);
                    st.Bind(4, user.fhir_user).Bind(5, int64_t{user.failed_logins});
                    st.Bind(6, user.locked_until).Bind(7, user.created_at);
                  }).status());
  RETURN_IF_ERROR(
      Execute(db, "DELETE FROM auth_user_represents WHERE username = ?", [&](Statement& st) {
        st.Bind(1, user.username);
      }).status());
  for (size_t i = 0; i < user.represents.size(); ++i) {
    RETURN_IF_ERROR(Execute(db,
                            "INSERT INTO auth_user_represents (username, ord, patient_id) "
                            "VALUES (?, ?, ?)",
                            [&](Statement& st) {
                              st.Bind(1, user.username).Bind(2, static_cast<int64_t>(i));
                              st.Bind(3, user.represents[i]);
                            })
                        .status());
  }
  return txn.Commit();
}

StatusOr<std::optional<User>> SqliteAuthStore::GetUser(const std::string& username) {
  static const std::string kSql =
      Sql({"SELECT ", kUserColumns, " FROM auth_user WHERE username = ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  Connection& db = lease->conn();
  ReadTxn txn(db);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<User> user,
                   QueryOne<User>(
                       db, kSql, [&](Statement& st) { st.Bind(1, username); }, RowToUser));
  if (!user.has_value()) {
    return user;
  }
  ASSIGN_OR_RETURN(user->represents,
                   QueryAll<std::string>(
                       db,
                       "SELECT patient_id FROM auth_user_represents WHERE username = ? "
                       "ORDER BY ord",
                       [&](Statement& st) { st.Bind(1, username); },
                       [](const Statement& st) { return std::string(st.Text(0)); }));
  return user;
}

StatusOr<std::vector<User>> SqliteAuthStore::ListUsers() {
  static const std::string kSql =
      Sql({"SELECT ", kUserColumns, " FROM auth_user ORDER BY username"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  Connection& db = lease->conn();
  ReadTxn txn(db);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::vector<User> users, QueryAll<User>(db, kSql, NoBind, RowToUser));
  using Pair = std::pair<std::string, std::string>;
  ASSIGN_OR_RETURN(std::vector<Pair> reps,
                   QueryAll<Pair>(db,
                                  "SELECT username, patient_id FROM auth_user_represents "
                                  "ORDER BY username, ord",
                                  NoBind, [](const Statement& st) {
                                    return Pair(std::string(st.Text(0)), std::string(st.Text(1)));
                                  }));
  std::map<std::string, User*, std::less<>> by_name;
  for (User& u : users) {
    by_name[u.username] = &u;
  }
  for (Pair& p : reps) {
    auto it = by_name.find(p.first);
    if (it != by_name.end()) {
      it->second->represents.push_back(std::move(p.second));
    }
  }
  return users;
}

StatusOr<bool> SqliteAuthStore::RemoveUser(const std::string& username) {
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  Connection& db = txn.db();
  auto bind = [&](Statement& st) { st.Bind(1, username); };
  ASSIGN_OR_RETURN(int removed, Execute(db, "DELETE FROM auth_user WHERE username = ?", bind));
  RETURN_IF_ERROR(
      Execute(db, "DELETE FROM auth_user_represents WHERE username = ?", bind).status());
  RETURN_IF_ERROR(
      Execute(db, "UPDATE auth_grant SET revoked = 1 WHERE username = ? AND revoked = 0", bind)
          .status());
  RETURN_IF_ERROR(txn.Commit());
  return removed > 0;
}

Status SqliteAuthStore::RecordLoginFailure(const std::string& username, base::Millis lock_until) {
  return WriteOne(
             "UPDATE auth_user SET failed_logins = failed_logins + 1, "
             "locked_until = CASE WHEN ?1 > 0 THEN ?1 ELSE locked_until END "
             "WHERE username = ?2",
             [&](Statement& st) { st.Bind(1, lock_until).Bind(2, username); })
      .status();
}

Status SqliteAuthStore::ResetLoginFailures(const std::string& username) {
  return WriteOne("UPDATE auth_user SET failed_logins = 0, locked_until = 0 WHERE username = ?",
                  [&](Statement& st) { st.Bind(1, username); })
      .status();
}

// ---- Authorization requests ----

Status SqliteAuthStore::PutAuthRequest(const AuthRequest& r) {
  static const std::string kSql = Sql({"INSERT OR REPLACE INTO auth_request (", kRequestColumns,
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"});
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(
      Execute(txn.db(), "DELETE FROM auth_request WHERE expires_at < ?", [&](Statement& st) {
        st.Bind(1, r.expires_at - kPurgeGraceMillis);
      }).status());
  RETURN_IF_ERROR(Execute(txn.db(), kSql, [&](Statement& st) {
                    st.Bind(1, r.id_hash).Bind(2, r.session_hash).Bind(3, r.csrf_token);
                    st.Bind(4, r.client_id).Bind(5, r.redirect_uri).Bind(6, r.scope);
                    st.Bind(7, r.state).Bind(8, r.nonce).Bind(9, r.code_challenge);
                    st.Bind(10, r.code_challenge_method).Bind(11, r.username);
                    st.Bind(12, r.patient_id).Bind(13, r.expires_at);
                  }).status());
  return txn.Commit();
}

StatusOr<std::optional<AuthRequest>> SqliteAuthStore::GetAuthRequest(const std::string& id_hash) {
  static const std::string kSql =
      Sql({"SELECT ", kRequestColumns, " FROM auth_request WHERE id_hash = ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryOne<AuthRequest>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, id_hash); }, RowToRequest);
}

Status SqliteAuthStore::DeleteAuthRequest(const std::string& id_hash) {
  return WriteOne("DELETE FROM auth_request WHERE id_hash = ?",
                  [&](Statement& st) { st.Bind(1, id_hash); })
      .status();
}

Status SqliteAuthStore::AddAuthRequest(const AuthRequest& r, base::Millis now,
                                       int max_per_session, int max_per_client) {
  static const std::string kSql = Sql({"INSERT OR REPLACE INTO auth_request (", kRequestColumns,
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"});
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(Execute(txn.db(), "DELETE FROM auth_request WHERE expires_at < ?",
                          [&](Statement& st) { st.Bind(1, now); })
                      .status());
  auto count = [&](const char* sql, const std::string& key) -> StatusOr<int64_t> {
    ASSIGN_OR_RETURN(std::optional<int64_t> n,
                     QueryOne<int64_t>(
                         txn.db(), sql, [&](Statement& st) { st.Bind(1, key); },
                         [](const Statement& st) { return st.Int(0); }));
    return n.value_or(0);
  };
  if (max_per_session > 0) {
    ASSIGN_OR_RETURN(int64_t n,
                     count("SELECT COUNT(*) FROM auth_request WHERE session_hash = ?",
                           r.session_hash));
    if (n >= max_per_session) {
      return Status(StatusCode::kResourceExhausted,
                    "too many authorization requests in progress in this browser");
    }
  }
  if (max_per_client > 0) {
    ASSIGN_OR_RETURN(int64_t n, count("SELECT COUNT(*) FROM auth_request WHERE client_id = ?",
                                      r.client_id));
    if (n >= max_per_client) {
      return Status(StatusCode::kResourceExhausted,
                    "too many authorization requests in progress for this client");
    }
  }
  RETURN_IF_ERROR(Execute(txn.db(), kSql, [&](Statement& st) {
                    st.Bind(1, r.id_hash).Bind(2, r.session_hash).Bind(3, r.csrf_token);
                    st.Bind(4, r.client_id).Bind(5, r.redirect_uri).Bind(6, r.scope);
                    st.Bind(7, r.state).Bind(8, r.nonce).Bind(9, r.code_challenge);
                    st.Bind(10, r.code_challenge_method).Bind(11, r.username);
                    st.Bind(12, r.patient_id).Bind(13, r.expires_at);
                  }).status());
  return txn.Commit();
}

// ---- Codes ----

Status SqliteAuthStore::PutCode(const AuthCode& c) {
  static const std::string kSql = Sql({"INSERT OR IGNORE INTO auth_code (", kCodeColumns,
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"});
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(
      Execute(txn.db(), "DELETE FROM auth_code WHERE expires_at < ?", [&](Statement& st) {
        st.Bind(1, c.expires_at - kPurgeGraceMillis);
      }).status());
  ASSIGN_OR_RETURN(int inserted, Execute(txn.db(), kSql, [&](Statement& st) {
                     st.Bind(1, c.code_hash).Bind(2, c.client_id).Bind(3, c.redirect_uri);
                     st.Bind(4, c.scope).Bind(5, c.username).Bind(6, c.patient_id);
                     st.Bind(7, c.nonce).Bind(8, c.code_challenge);
                     st.Bind(9, c.code_challenge_method).Bind(10, c.grant_id);
                     st.Bind(11, c.expires_at).Bind(12, int64_t{c.used ? 1 : 0});
                   }));
  if (inserted == 0) {
    return Status(StatusCode::kAborted, "authorization code already exists");
  }
  return txn.Commit();
}

StatusOr<std::optional<AuthCode>> SqliteAuthStore::RedeemCode(const std::string& code_hash,
                                                              const GrantFor& grant_for) {
  static const std::string kSelect =
      Sql({"SELECT ", kCodeColumns, " FROM auth_code WHERE code_hash = ?"});
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  auto bind = [&](Statement& st) { st.Bind(1, code_hash); };
  ASSIGN_OR_RETURN(
      int taken,
      Execute(txn.db(), "UPDATE auth_code SET used = 1 WHERE code_hash = ? AND used = 0", bind));
  ASSIGN_OR_RETURN(std::optional<AuthCode> code,
                   QueryOne<AuthCode>(txn.db(), kSelect, bind, RowToCode));
  if (code.has_value()) {
    code->used = taken == 0;  // as it was before this call
    if (!code->used && grant_for) {
      if (std::optional<Grant> grant = grant_for(*code); grant.has_value()) {
        RETURN_IF_ERROR(UpsertGrant(txn.db(), *grant));
      }
    }
  }
  RETURN_IF_ERROR(txn.Commit());
  return code;
}

Status SqliteAuthStore::AddCode(const AuthCode& c, base::Millis now, int max_per_user) {
  static const std::string kSql = Sql({"INSERT OR IGNORE INTO auth_code (", kCodeColumns,
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"});
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  RETURN_IF_ERROR(
      Execute(txn.db(), "DELETE FROM auth_code WHERE expires_at < ?", [&](Statement& st) {
        st.Bind(1, c.expires_at - kPurgeGraceMillis);
      }).status());
  if (max_per_user > 0) {
    ASSIGN_OR_RETURN(std::optional<int64_t> n,
                     QueryOne<int64_t>(
                         txn.db(),
                         "SELECT COUNT(*) FROM auth_code WHERE username = ? AND used = 0 AND "
                         "expires_at >= ?",
                         [&](Statement& st) { st.Bind(1, c.username).Bind(2, now); },
                         [](const Statement& st) { return st.Int(0); }));
    if (n.value_or(0) >= max_per_user) {
      return Status(StatusCode::kResourceExhausted,
                    "too many unused authorization codes for this account");
    }
  }
  ASSIGN_OR_RETURN(int inserted, Execute(txn.db(), kSql, [&](Statement& st) {
                     st.Bind(1, c.code_hash).Bind(2, c.client_id).Bind(3, c.redirect_uri);
                     st.Bind(4, c.scope).Bind(5, c.username).Bind(6, c.patient_id);
                     st.Bind(7, c.nonce).Bind(8, c.code_challenge);
                     st.Bind(9, c.code_challenge_method).Bind(10, c.grant_id);
                     st.Bind(11, c.expires_at).Bind(12, int64_t{c.used ? 1 : 0});
                   }));
  if (inserted == 0) {
    return Status(StatusCode::kAborted, "authorization code already exists");
  }
  return txn.Commit();
}

// ---- Grants ----

Status SqliteAuthStore::PutGrant(const Grant& g) {
  SqliteStore::WriterLock lock = store_.LockWriter();
  return UpsertGrant(store_.writer(), g);
}

StatusOr<std::optional<Grant>> SqliteAuthStore::GetGrant(const std::string& grant_id) {
  static const std::string kSql =
      Sql({"SELECT ", kGrantColumns, " FROM auth_grant WHERE grant_id = ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryOne<Grant>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, grant_id); }, RowToGrant);
}

StatusOr<std::optional<Grant>> SqliteAuthStore::FindGrantByRefresh(
    const std::string& refresh_hash) {
  // The `<> ''` term lets SQLite use the partial unique index and never matches "no token".
  static const std::string kSql = Sql(
      {"SELECT ", kGrantColumns, " FROM auth_grant WHERE refresh_hash = ? AND refresh_hash <> ''"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryOne<Grant>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, refresh_hash); }, RowToGrant);
}

StatusOr<bool> SqliteAuthStore::RotateRefresh(const std::string& grant_id,
                                              const std::string& old_hash,
                                              const std::string& new_hash, base::Millis expires_at,
                                              base::Millis used_at) {
  if (old_hash.empty()) {
    return false;
  }
  ASSIGN_OR_RETURN(int changed,
                   WriteOne("UPDATE auth_grant SET refresh_hash = ?, refresh_expires_at = ?, "
                            "last_used_at = MAX(last_used_at, ?) WHERE grant_id = ? AND "
                            "refresh_hash = ? AND revoked = 0",
                            [&](Statement& st) {
                              st.Bind(1, new_hash).Bind(2, expires_at).Bind(3, used_at);
                              st.Bind(4, grant_id).Bind(5, old_hash);
                            }));
  return changed > 0;
}

Status SqliteAuthStore::RevokeGrant(const std::string& grant_id) {
  return WriteOne("UPDATE auth_grant SET revoked = 1 WHERE grant_id = ?",
                  [&](Statement& st) { st.Bind(1, grant_id); })
      .status();
}

Status SqliteAuthStore::RevokeGrantsOf(const std::string& username, const std::string& patient_id) {
  return WriteOne(
             "UPDATE auth_grant SET revoked = 1 WHERE username = ?1 AND revoked = 0 AND "
             "(?2 = '' OR patient_id = ?2)",
             [&](Statement& st) { st.Bind(1, username).Bind(2, patient_id); })
      .status();
}

StatusOr<std::vector<Grant>> SqliteAuthStore::ListGrants(const std::string& username) {
  static const std::string kSql = Sql({"SELECT ", kGrantColumns,
                                       " FROM auth_grant WHERE username = ? ORDER BY created_at, "
                                       "grant_id"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<Grant>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, username); }, RowToGrant);
}

StatusOr<std::vector<Grant>> SqliteAuthStore::ListGrantsForPatients(
    const std::vector<std::string>& patient_ids) {
  if (patient_ids.empty()) {
    return std::vector<Grant>();
  }
  // The ids travel as one JSON array parameter: one statement text whatever their number.
  static const std::string kSql =
      Sql({"SELECT ", kGrantColumns,
           " FROM auth_grant WHERE patient_id IN (SELECT value FROM json_each(?)) "
           "ORDER BY created_at, grant_id"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<Grant>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, EncodeStringArray(patient_ids)); },
      RowToGrant);
}

StatusOr<int> SqliteAuthStore::SupersedeGrants(const std::string& username,
                                               const std::string& client_id,
                                               const std::string& keep_grant_id, int max_live) {
  if (max_live <= 0) {
    return 0;
  }
  // Keeps `keep_grant_id` and the newest max_live - 1 others; revokes the rest.
  return WriteOne(
      "UPDATE auth_grant SET revoked = 1 WHERE username = ?1 AND client_id = ?2 AND revoked = 0 "
      "AND grant_id <> ?3 AND grant_id NOT IN (SELECT grant_id FROM auth_grant WHERE "
      "username = ?1 AND client_id = ?2 AND revoked = 0 AND grant_id <> ?3 "
      "ORDER BY created_at DESC, grant_id DESC LIMIT ?4)",
      [&](Statement& st) {
        st.Bind(1, username).Bind(2, client_id).Bind(3, keep_grant_id);
        st.Bind(4, int64_t{max_live - 1});
      });
}

StatusOr<bool> SqliteAuthStore::GrantActive(const std::string& grant_id) {
  // One statement: the grant is live and its client (if registered) is active.
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  ASSIGN_OR_RETURN(
      std::optional<bool> live,
      QueryOne<bool>(
          lease->conn(),
          "SELECT 1 FROM auth_grant g LEFT JOIN auth_client c "
          "ON c.client_id = g.client_id WHERE g.grant_id = ? AND g.revoked = 0 "
          "AND COALESCE(c.status, 'active') = 'active'",
          [&](Statement& st) { st.Bind(1, grant_id); }, [](const Statement&) { return true; }));
  return live.has_value();
}

Status SqliteAuthStore::TouchGrant(const std::string& grant_id, base::Millis at) {
  return WriteOne(
             "UPDATE auth_grant SET last_used_at = ?1 WHERE grant_id = ?2 AND "
             "last_used_at < ?1",
             [&](Statement& st) { st.Bind(1, at).Bind(2, grant_id); })
      .status();
}

// ---- Signing keys ----

StatusOr<std::vector<SigningKeyRecord>> SqliteAuthStore::ListSigningKeys() {
  static const std::string kSql =
      Sql({"SELECT ", kKeyColumns, " FROM auth_signing_key ORDER BY created_at, kid"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<SigningKeyRecord>(lease->conn(), kSql, NoBind, RowToKey);
}

Status SqliteAuthStore::PutSigningKey(const SigningKeyRecord& key) {
  static const std::string kSql =
      Sql({"INSERT OR IGNORE INTO auth_signing_key (", kKeyColumns, ") VALUES (?, ?, ?, ?)"});
  ASSIGN_OR_RETURN(int inserted, WriteOne(kSql, [&](Statement& st) {
                     st.Bind(1, key.kid).Bind(2, key.private_pem).Bind(3, key.created_at);
                     st.Bind(4, key.retired_at);
                   }));
  if (inserted == 0) {
    return Status(StatusCode::kAborted, "signing key '" + key.kid + "' already exists");
  }
  return Status::Ok();
}

Status SqliteAuthStore::RetireSigningKeys(base::Millis at) {
  return WriteOne("UPDATE auth_signing_key SET retired_at = ? WHERE retired_at = 0",
                  [&](Statement& st) { st.Bind(1, at); })
      .status();
}

// ---- Audit ----

namespace {

// One audit row; AuditBatch puts kAuditRows of them in one statement.
constexpr char kAuditInsert[] =
    "INSERT INTO auth_audit (at, event, client_id, username, patient_id, detail) VALUES ";
constexpr char kAuditRow[] = "(?, ?, ?, ?, ?, ?)";
constexpr size_t kAuditRows = 64;
constexpr int kAuditColumnCount = 6;

// INSERT of `rows` audit rows.
std::string AuditInsertSql(size_t rows) {
  std::string sql = kAuditInsert;
  for (size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? "" : ", ";
    sql += kAuditRow;
  }
  return sql;
}

}  // namespace

Status SqliteAuthStore::Audit(const AuditEvent& e) {
  static const std::string kOne = AuditInsertSql(1);
  return WriteOne(kOne,
                  [&](Statement& st) {
                    st.Bind(1, e.at).Bind(2, e.event).Bind(3, e.client_id).Bind(4, e.username);
                    st.Bind(5, e.patient_id).Bind(6, e.detail);
                  })
      .status();
}

Status SqliteAuthStore::AuditBatch(const std::vector<AuditEvent>& events) {
  if (events.empty()) {
    return Status::Ok();
  }
  // One transaction (one flush) for the whole batch, and one statement per kAuditRows events:
  // each statement costs its own step, and the AUTOINCREMENT counter is written once per
  // statement, not once per row. Under a read load this thread writes one row per request.
  static const std::string kOne = AuditInsertSql(1);
  static const std::string kMany = AuditInsertSql(kAuditRows);
  WriteTxn txn(store_);
  RETURN_IF_ERROR(txn.Begin());
  size_t done = 0;
  while (done < events.size()) {
    size_t rows = events.size() - done >= kAuditRows ? kAuditRows : 1;
    ASSIGN_OR_RETURN(Statement * st, txn.db().Cached(rows == 1 ? kOne : kMany));
    for (size_t i = 0; i < rows; ++i) {
      const AuditEvent& e = events[done + i];
      int base = static_cast<int>(i) * kAuditColumnCount;
      st->Bind(base + 1, e.at).Bind(base + 2, e.event).Bind(base + 3, e.client_id);
      st->Bind(base + 4, e.username).Bind(base + 5, e.patient_id).Bind(base + 6, e.detail);
    }
    Status run = st->Run();
    st->Reset();
    RETURN_IF_ERROR(run);
    done += rows;
  }
  return txn.Commit();
}

StatusOr<std::vector<AuditEvent>> SqliteAuthStore::ListAudit(int limit) {
  if (limit <= 0) {
    return std::vector<AuditEvent>();
  }
  static const std::string kSql =
      Sql({"SELECT ", kAuditColumns, " FROM auth_audit ORDER BY at DESC, id DESC LIMIT ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<AuditEvent>(
      lease->conn(), kSql, [&](Statement& st) { st.Bind(1, int64_t{limit}); }, RowToAudit);
}

StatusOr<std::vector<AuditEvent>> SqliteAuthStore::ListAuditForPatients(
    const std::vector<std::string>& patient_ids, const std::vector<std::string>& events,
    int limit) {
  if (limit <= 0 || patient_ids.empty() || events.empty()) {
    return std::vector<AuditEvent>();
  }
  static const std::string kSql =
      Sql({"SELECT ", kAuditColumns,
           " FROM auth_audit WHERE patient_id IN (SELECT value FROM json_each(?)) AND event IN "
           "(SELECT value FROM json_each(?)) ORDER BY at DESC, id DESC LIMIT ?"});
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  return QueryAll<AuditEvent>(
      lease->conn(), kSql,
      [&](Statement& st) {
        st.Bind(1, EncodeStringArray(patient_ids))
            .Bind(2, EncodeStringArray(events))
            .Bind(3, int64_t{limit});
      },
      RowToAudit);
}

StatusOr<std::string> SqliteAuthStore::SharedSecret(const std::string& name,
                                                    const std::string& candidate,
                                                    base::Millis now) {
  RETURN_IF_ERROR(
      WriteOne("INSERT OR IGNORE INTO auth_secret (name, value, created_at) VALUES (?, ?, ?)",
               [&](Statement& st) { st.Bind(1, name).Bind(2, candidate).Bind(3, now); })
          .status());
  ASSIGN_OR_RETURN(auto lease, store_.AcquireReader());
  ASSIGN_OR_RETURN(std::vector<std::string> values,
                   QueryAll<std::string>(
                       lease->conn(), "SELECT value FROM auth_secret WHERE name = ?",
                       [&](Statement& st) { st.Bind(1, name); },
                       [](Statement& st) { return std::string(st.Text(0)); }));
  if (values.empty()) {
    return InternalError("the shared secret " + name + " was not stored");
  }
  return values.front();
}

}  // namespace portico::store::sqlite
