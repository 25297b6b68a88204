#include "src/store/postgres/postgres_auth_store.h"

#include <map>
#include <string_view>

#include "src/json/json.h"

namespace portico::store::postgres {

namespace {

constexpr base::Millis kPurgeGraceMillis = 24LL * 60 * 60 * 1000;

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

std::string S(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out += p;
  }
  return out;
}

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

std::string T(const PgResult& r, int row, int col) { return std::string(r.Text(row, col)); }

StatusOr<Client> ToClient(const PgResult& r, int i) {
  Client c;
  c.client_id = T(r, i, 0);
  c.name = T(r, i, 1);
  ASSIGN_OR_RETURN(c.type, ParseClientType(r.Text(i, 2)));
  c.secret_hash = T(r, i, 3);
  c.jwks_url = T(r, i, 4);
  c.jwks_json = T(r, i, 5);
  ASSIGN_OR_RETURN(c.redirect_uris, DecodeStringArray(r.Text(i, 6)));
  c.scope = T(r, i, 7);
  c.created_at = r.Int(i, 9);
  c.client_uri = T(r, i, 10);
  c.policy_uri = T(r, i, 11);
  c.tos_uri = T(r, i, 12);
  c.logo_uri = T(r, i, 13);
  ASSIGN_OR_RETURN(c.contacts, DecodeStringArray(r.Text(i, 14)));
  c.attestation = T(r, i, 15);
  if (!ParseClientStatus(r.Text(i, 16), c.status)) {
    return InternalError("auth_client has an unknown status");
  }
  c.registered_by = T(r, i, 17);
  c.updated_at = r.Int(i, 18);
  return c;
}

Operator ToOperator(const PgResult& r, int i) {
  Operator o;
  o.username = T(r, i, 0);
  o.password_hash = T(r, i, 1);
  o.failed_logins = static_cast<int>(r.Int(i, 2));
  o.locked_until = r.Int(i, 3);
  o.created_at = r.Int(i, 4);
  return o;
}

User ToUser(const PgResult& r, int i) {
  User u;
  u.username = T(r, i, 0);
  u.password_hash = T(r, i, 1);
  u.patient_id = T(r, i, 2);
  u.fhir_user = T(r, i, 3);
  u.failed_logins = static_cast<int>(r.Int(i, 4));
  u.locked_until = r.Int(i, 5);
  u.created_at = r.Int(i, 6);
  return u;
}

AuthRequest ToRequest(const PgResult& r, int i) {
  AuthRequest q;
  q.id_hash = T(r, i, 0);
  q.session_hash = T(r, i, 1);
  q.csrf_token = T(r, i, 2);
  q.client_id = T(r, i, 3);
  q.redirect_uri = T(r, i, 4);
  q.scope = T(r, i, 5);
  q.state = T(r, i, 6);
  q.nonce = T(r, i, 7);
  q.code_challenge = T(r, i, 8);
  q.code_challenge_method = T(r, i, 9);
  q.username = T(r, i, 10);
  q.patient_id = T(r, i, 11);
  q.expires_at = r.Int(i, 12);
  return q;
}

AuthCode ToCode(const PgResult& r, int i) {
  AuthCode c;
  c.code_hash = T(r, i, 0);
  c.client_id = T(r, i, 1);
  c.redirect_uri = T(r, i, 2);
  c.scope = T(r, i, 3);
  c.username = T(r, i, 4);
  c.patient_id = T(r, i, 5);
  c.nonce = T(r, i, 6);
  c.code_challenge = T(r, i, 7);
  c.code_challenge_method = T(r, i, 8);
  c.grant_id = T(r, i, 9);
  c.expires_at = r.Int(i, 10);
  c.used = r.Int(i, 11) != 0;
  return c;
}

Grant ToGrant(const PgResult& r, int i) {
  Grant g;
  g.grant_id = T(r, i, 0);
  g.client_id = T(r, i, 1);
  g.username = T(r, i, 2);
  g.patient_id = T(r, i, 3);
  g.scope = T(r, i, 4);
  g.refresh_hash = T(r, i, 5);
  g.refresh_expires_at = r.Int(i, 6);
  g.created_at = r.Int(i, 7);
  g.last_used_at = r.Int(i, 8);
  g.revoked = r.Int(i, 9) != 0;
  return g;
}

SigningKeyRecord ToKey(const PgResult& r, int i) {
  SigningKeyRecord k;
  k.kid = T(r, i, 0);
  k.private_pem = T(r, i, 1);
  k.created_at = r.Int(i, 2);
  k.retired_at = r.Int(i, 3);
  return k;
}

AuditEvent ToAudit(const PgResult& r, int i) {
  AuditEvent e;
  e.at = r.Int(i, 0);
  e.event = T(r, i, 1);
  e.client_id = T(r, i, 2);
  e.username = T(r, i, 3);
  e.patient_id = T(r, i, 4);
  e.detail = T(r, i, 5);
  return e;
}

int64_t B(bool b) { return b ? 1 : 0; }

Status UpsertGrant(PgConn& db, const Grant& g) {
  static const std::string kSql =
      S({"INSERT INTO auth_grant (", kGrantColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (grant_id) DO UPDATE "
         "SET client_id = excluded.client_id, username = excluded.username, "
         "patient_id = excluded.patient_id, scope = excluded.scope, "
         "refresh_hash = excluded.refresh_hash, refresh_expires_at = excluded.refresh_expires_at, "
         "created_at = excluded.created_at, last_used_at = excluded.last_used_at, "
         "revoked = excluded.revoked"});
  return db
      .Exec(kSql, {g.grant_id, g.client_id, g.username, g.patient_id, g.scope, g.refresh_hash,
                   g.refresh_expires_at, g.created_at, g.last_used_at, B(g.revoked)})
      .status();
}

}  // namespace

StatusOr<PgResult> PostgresAuthStore::Exec(const std::string& sql,
                                           const std::vector<sql::Param>& params) {
  // A query whose connection dies under it runs again on a fresh one. A write does not: the
  // server may have committed it before the connection dropped, and running it again could
  // apply it twice. (Connections that died while idle never get here: the pool replaces them
  // before use, so this is a failure during the statement itself, and the caller is told.)
  const bool read_only = sql.rfind("SELECT", 0) == 0;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(PgPool::Lease conn, store_.Primary());
    auto out = conn->Exec(sql, params);
    if (out.ok() || !read_only || attempt > 0 || out.status().code() != StatusCode::kUnavailable ||
        !conn->Broken()) {
      return out;
    }
  }
}

Status PostgresAuthStore::InTransaction(const std::function<Status(PgConn&)>& fn, bool snapshot) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, store_.Primary());
  RETURN_IF_ERROR(
      conn->Exec(snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN").status());
  Status s = fn(*conn);
  if (!s.ok()) {
    (void)conn->Exec("ROLLBACK");
    return s;
  }
  return conn->Exec("COMMIT").status();
}

// ---- Clients ----

Status PostgresAuthStore::PutClient(const Client& c) {
  static const std::string kSql =
      S({"INSERT INTO auth_client (", kClientColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
         "$18, $19) ON CONFLICT (client_id) DO UPDATE "
         "SET name = excluded.name, type = excluded.type, secret_hash = excluded.secret_hash, "
         "jwks_url = excluded.jwks_url, jwks_json = excluded.jwks_json, "
         "redirect_uris = excluded.redirect_uris, scope = excluded.scope, "
         "active = excluded.active, created_at = excluded.created_at, "
         "client_uri = excluded.client_uri, policy_uri = excluded.policy_uri, "
         "tos_uri = excluded.tos_uri, logo_uri = excluded.logo_uri, "
         "contacts = excluded.contacts, attestation = excluded.attestation, "
         "status = excluded.status, registered_by = excluded.registered_by, "
         "updated_at = excluded.updated_at"});
  return Exec(kSql,
              {c.client_id, c.name, ClientTypeName(c.type), c.secret_hash, c.jwks_url, c.jwks_json,
               EncodeStringArray(c.redirect_uris), c.scope, B(c.active()), c.created_at,
               c.client_uri, c.policy_uri, c.tos_uri, c.logo_uri, EncodeStringArray(c.contacts),
               c.attestation.empty() ? std::string("{}") : c.attestation,
               std::string(ClientStatusName(c.status)), c.registered_by, c.updated_at})
      .status();
}

StatusOr<std::optional<Client>> PostgresAuthStore::GetClient(const std::string& client_id) {
  static const std::string kSql =
      S({"SELECT ", kClientColumns, " FROM auth_client WHERE client_id = $1"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {client_id}));
  if (r.rows() == 0) {
    return std::optional<Client>();
  }
  ASSIGN_OR_RETURN(Client c, ToClient(r, 0));
  return std::optional<Client>(std::move(c));
}

StatusOr<std::vector<Client>> PostgresAuthStore::ListClients() {
  static const std::string kSql =
      S({"SELECT ", kClientColumns, " FROM auth_client ORDER BY client_id"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {}));
  std::vector<Client> out;
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(Client c, ToClient(r, i));
    out.push_back(std::move(c));
  }
  return out;
}

StatusOr<bool> PostgresAuthStore::RemoveClient(const std::string& client_id) {
  bool removed = false;
  RETURN_IF_ERROR(InTransaction([&](PgConn& db) -> Status {
    ASSIGN_OR_RETURN(PgResult r,
                     db.Exec("DELETE FROM auth_client WHERE client_id = $1", {client_id}));
    removed = r.Changed() > 0;
    return db
        .Exec("UPDATE auth_grant SET revoked = 1 WHERE client_id = $1 AND revoked = 0", {client_id})
        .status();
  }));
  return removed;
}

StatusOr<bool> PostgresAuthStore::SetClientStatus(const std::string& client_id, ClientStatus status,
                                                  base::Millis updated_at) {
  ASSIGN_OR_RETURN(PgResult r, Exec("UPDATE auth_client SET status = $1, active = $2, "
                                    "updated_at = $3 WHERE client_id = $4",
                                    {std::string(ClientStatusName(status)),
                                     B(status == ClientStatus::kActive), updated_at, client_id}));
  return r.Changed() > 0;
}

// ---- Operators ----

Status PostgresAuthStore::PutOperator(const Operator& op) {
  static const std::string kSql =
      S({"INSERT INTO auth_operator (", kOperatorColumns,
         ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO UPDATE SET "
         "password_hash = excluded.password_hash, failed_logins = excluded.failed_logins, "
         "locked_until = excluded.locked_until, created_at = excluded.created_at"});
  return Exec(kSql, {op.username, op.password_hash, int64_t{op.failed_logins}, op.locked_until,
                     op.created_at})
      .status();
}

StatusOr<std::optional<Operator>> PostgresAuthStore::GetOperator(const std::string& username) {
  static const std::string kSql =
      S({"SELECT ", kOperatorColumns, " FROM auth_operator WHERE username = $1"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {username}));
  if (r.rows() == 0) {
    return std::optional<Operator>();
  }
  return std::optional<Operator>(ToOperator(r, 0));
}

StatusOr<std::vector<Operator>> PostgresAuthStore::ListOperators() {
  static const std::string kSql =
      S({"SELECT ", kOperatorColumns, " FROM auth_operator ORDER BY username"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {}));
  std::vector<Operator> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ToOperator(r, i));
  }
  return out;
}

StatusOr<bool> PostgresAuthStore::RemoveOperator(const std::string& username) {
  ASSIGN_OR_RETURN(PgResult r, Exec("DELETE FROM auth_operator WHERE username = $1", {username}));
  return r.Changed() > 0;
}

Status PostgresAuthStore::RecordOperatorFailure(const std::string& username,
                                                base::Millis lock_until) {
  return Exec(
             "UPDATE auth_operator SET failed_logins = failed_logins + 1, locked_until = CASE "
             "WHEN $1 > 0 THEN $1 ELSE locked_until END WHERE username = $2",
             {lock_until, username})
      .status();
}

Status PostgresAuthStore::ResetOperatorFailures(const std::string& username) {
  return Exec("UPDATE auth_operator SET failed_logins = 0, locked_until = 0 WHERE username = $1",
              {username})
      .status();
}

// ---- Users ----

Status PostgresAuthStore::PutUser(const User& u) {
  static const std::string kSql =
      S({"INSERT INTO auth_user (", kUserColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (username) DO UPDATE SET "
         "password_hash = excluded.password_hash, patient_id = excluded.patient_id, "
         "fhir_user = excluded.fhir_user, failed_logins = excluded.failed_logins, "
         "locked_until = excluded.locked_until, created_at = excluded.created_at"});
  return InTransaction([&](PgConn& db) -> Status {
    RETURN_IF_ERROR(db.Exec(kSql, {u.username, u.password_hash, u.patient_id, u.fhir_user,
                                   int64_t{u.failed_logins}, u.locked_until, u.created_at})
                        .status());
    RETURN_IF_ERROR(
        db.Exec("DELETE FROM auth_user_represents WHERE username = $1", {u.username}).status());
    for (size_t i = 0; i < u.represents.size(); ++i) {
      RETURN_IF_ERROR(db.Exec("INSERT INTO auth_user_represents (username, ord, patient_id) "
                              "VALUES ($1, $2, $3)",
                              {u.username, static_cast<int64_t>(i), u.represents[i]})
                          .status());
    }
    return Status::Ok();
  });
}

StatusOr<std::optional<User>> PostgresAuthStore::GetUser(const std::string& username) {
  static const std::string kSql =
      S({"SELECT ", kUserColumns, " FROM auth_user WHERE username = $1"});
  std::optional<User> user;
  // One transaction, so the user and its `represents` come from one consistent state.
  RETURN_IF_ERROR(InTransaction(
      [&](PgConn& db) -> Status {
        ASSIGN_OR_RETURN(PgResult r, db.Exec(kSql, {username}));
        if (r.rows() == 0) {
          return Status::Ok();
        }
        user = ToUser(r, 0);
        ASSIGN_OR_RETURN(PgResult reps, db.Exec("SELECT patient_id FROM auth_user_represents WHERE "
                                                "username = $1 ORDER BY ord",
                                                {username}));
        for (int i = 0; i < reps.rows(); ++i) {
          user->represents.push_back(T(reps, i, 0));
        }
        return Status::Ok();
      },
      /*snapshot=*/true));
  return user;
}

StatusOr<std::vector<User>> PostgresAuthStore::ListUsers() {
  static const std::string kSql = S({"SELECT ", kUserColumns, " FROM auth_user ORDER BY username"});
  std::vector<User> users;
  RETURN_IF_ERROR(InTransaction(
      [&](PgConn& db) -> Status {
        ASSIGN_OR_RETURN(PgResult r, db.Exec(kSql));
        for (int i = 0; i < r.rows(); ++i) {
          users.push_back(ToUser(r, i));
        }
        ASSIGN_OR_RETURN(PgResult reps, db.Exec("SELECT username, patient_id FROM "
                                                "auth_user_represents ORDER BY username, ord"));
        std::map<std::string, User*, std::less<>> by_name;
        for (User& u : users) {
          by_name[u.username] = &u;
        }
        for (int i = 0; i < reps.rows(); ++i) {
          auto it = by_name.find(reps.Text(i, 0));
          if (it != by_name.end()) {
            it->second->represents.push_back(T(reps, i, 1));
          }
        }
        return Status::Ok();
      },
      /*snapshot=*/true));
  return users;
}

StatusOr<bool> PostgresAuthStore::RemoveUser(const std::string& username) {
  bool removed = false;
  RETURN_IF_ERROR(InTransaction([&](PgConn& db) -> Status {
    ASSIGN_OR_RETURN(PgResult r, db.Exec("DELETE FROM auth_user WHERE username = $1", {username}));
    removed = r.Changed() > 0;
    RETURN_IF_ERROR(
        db.Exec("DELETE FROM auth_user_represents WHERE username = $1", {username}).status());
    return db
        .Exec("UPDATE auth_grant SET revoked = 1 WHERE username = $1 AND revoked = 0", {username})
        .status();
  }));
  return removed;
}

Status PostgresAuthStore::RecordLoginFailure(const std::string& username, base::Millis lock_until) {
  return Exec(
             "UPDATE auth_user SET failed_logins = failed_logins + 1, locked_until = CASE WHEN "
             "$1 > 0 THEN $1 ELSE locked_until END WHERE username = $2",
             {lock_until, username})
      .status();
}

Status PostgresAuthStore::ResetLoginFailures(const std::string& username) {
  return Exec("UPDATE auth_user SET failed_logins = 0, locked_until = 0 WHERE username = $1",
              {username})
      .status();
}

// ---- Authorization requests ----

Status PostgresAuthStore::PutAuthRequest(const AuthRequest& r) {
  static const std::string kSql =
      S({"WITH purge AS (DELETE FROM auth_request WHERE expires_at < $14 AND id_hash <> $1) "
         "INSERT INTO auth_request (",
         kRequestColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id_hash) "
         "DO UPDATE SET session_hash = excluded.session_hash, csrf_token = excluded.csrf_token, "
         "client_id = excluded.client_id, redirect_uri = excluded.redirect_uri, "
         "scope = excluded.scope, state = excluded.state, nonce = excluded.nonce, "
         "code_challenge = excluded.code_challenge, "
         "code_challenge_method = excluded.code_challenge_method, username = excluded.username, "
         "patient_id = excluded.patient_id, expires_at = excluded.expires_at"});
  return Exec(kSql, {r.id_hash, r.session_hash, r.csrf_token, r.client_id, r.redirect_uri, r.scope,
                     r.state, r.nonce, r.code_challenge, r.code_challenge_method, r.username,
                     r.patient_id, r.expires_at, r.expires_at - kPurgeGraceMillis})
      .status();
}

StatusOr<std::optional<AuthRequest>> PostgresAuthStore::GetAuthRequest(const std::string& id_hash) {
  static const std::string kSql =
      S({"SELECT ", kRequestColumns, " FROM auth_request WHERE id_hash = $1"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {id_hash}));
  if (r.rows() == 0) {
    return std::optional<AuthRequest>();
  }
  return std::optional<AuthRequest>(ToRequest(r, 0));
}

Status PostgresAuthStore::DeleteAuthRequest(const std::string& id_hash) {
  return Exec("DELETE FROM auth_request WHERE id_hash = $1", {id_hash}).status();
}

Status PostgresAuthStore::AddAuthRequest(const AuthRequest& r, base::Millis now,
                                         int max_per_session, int max_per_client) {
  static const std::string kInsert =
      S({"INSERT INTO auth_request (", kRequestColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"});
  return InTransaction([&](PgConn& db) -> Status {
    RETURN_IF_ERROR(
        db.Exec("DELETE FROM auth_request WHERE expires_at < $1", {int64_t{now}}).status());
    ASSIGN_OR_RETURN(PgResult counts,
                     db.Exec("SELECT (SELECT COUNT(*) FROM auth_request WHERE session_hash = $1), "
                             "(SELECT COUNT(*) FROM auth_request WHERE client_id = $2)",
                             {r.session_hash, r.client_id}));
    if (max_per_session > 0 && counts.Int(0, 0) >= max_per_session) {
      return Status(StatusCode::kResourceExhausted,
                    "too many authorization requests in progress in this browser");
    }
    if (max_per_client > 0 && counts.Int(0, 1) >= max_per_client) {
      return Status(StatusCode::kResourceExhausted,
                    "too many authorization requests in progress for this client");
    }
    return db
        .Exec(kInsert, {r.id_hash, r.session_hash, r.csrf_token, r.client_id, r.redirect_uri,
                        r.scope, r.state, r.nonce, r.code_challenge, r.code_challenge_method,
                        r.username, r.patient_id, r.expires_at})
        .status();
  });
}

// ---- Codes ----

Status PostgresAuthStore::PutCode(const AuthCode& c) {
  static const std::string kSql =
      S({"WITH purge AS (DELETE FROM auth_code WHERE expires_at < $13 AND code_hash <> $1) "
         "INSERT INTO auth_code (",
         kCodeColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (code_hash) "
         "DO NOTHING"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {c.code_hash, c.client_id, c.redirect_uri, c.scope,
                                           c.username, c.patient_id, c.nonce, c.code_challenge,
                                           c.code_challenge_method, c.grant_id, c.expires_at,
                                           B(c.used), c.expires_at - kPurgeGraceMillis}));
  if (r.Changed() == 0) {
    return Status(StatusCode::kAborted, "authorization code already exists");
  }
  return Status::Ok();
}

StatusOr<std::optional<AuthCode>> PostgresAuthStore::RedeemCode(const std::string& code_hash,
                                                                const GrantFor& grant_for) {
  // The UPDATE takes the row lock: of concurrent callers (on any node) exactly one sees a row
  // in `taken`; the others wait for it, re-check used = 0 and find nothing.
  static const std::string kSql =
      S({"WITH taken AS (UPDATE auth_code SET used = 1 WHERE code_hash = $1 AND used = 0 "
         "RETURNING code_hash) SELECT ",
         kCodeColumns, ", (SELECT COUNT(*) FROM taken) FROM auth_code WHERE code_hash = $1"});
  std::optional<AuthCode> code;
  auto redeem = [&](PgConn& db) -> Status {
    ASSIGN_OR_RETURN(PgResult r, db.Exec(kSql, {code_hash}));
    if (r.rows() == 0) {
      return Status::Ok();
    }
    code = ToCode(r, 0);
    code->used = r.Int(0, 12) == 0;  // as it was before this call
    if (!code->used && grant_for) {
      if (std::optional<Grant> grant = grant_for(*code); grant.has_value()) {
        return UpsertGrant(db, *grant);
      }
    }
    return Status::Ok();
  };
  if (grant_for) {
    RETURN_IF_ERROR(InTransaction(redeem));
  } else {
    // One statement is its own transaction.
    ASSIGN_OR_RETURN(PgPool::Lease conn, store_.Primary());
    RETURN_IF_ERROR(redeem(*conn));
  }
  return code;
}

Status PostgresAuthStore::AddCode(const AuthCode& c, base::Millis now, int max_per_user) {
  if (max_per_user <= 0) {
    return PutCode(c);
  }
  static const std::string kInsert =
      S({"INSERT INTO auth_code (", kCodeColumns,
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (code_hash) "
         "DO NOTHING"});
  return InTransaction([&](PgConn& db) -> Status {
    RETURN_IF_ERROR(
        db.Exec("DELETE FROM auth_code WHERE expires_at < $1", {c.expires_at - kPurgeGraceMillis})
            .status());
    ASSIGN_OR_RETURN(PgResult n, db.Exec("SELECT COUNT(*) FROM auth_code WHERE username = $1 AND "
                                         "used = 0 AND expires_at >= $2",
                                         {c.username, int64_t{now}}));
    if (n.Int(0, 0) >= max_per_user) {
      return Status(StatusCode::kResourceExhausted,
                    "too many unused authorization codes for this account");
    }
    ASSIGN_OR_RETURN(PgResult r, db.Exec(kInsert, {c.code_hash, c.client_id, c.redirect_uri,
                                                   c.scope, c.username, c.patient_id, c.nonce,
                                                   c.code_challenge, c.code_challenge_method,
                                                   c.grant_id, c.expires_at, B(c.used)}));
    if (r.Changed() == 0) {
      return Status(StatusCode::kAborted, "authorization code already exists");
    }
    return Status::Ok();
  });
}

// ---- Grants ----

Status PostgresAuthStore::PutGrant(const Grant& g) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, store_.Primary());
  return UpsertGrant(*conn, g);
}

StatusOr<std::optional<Grant>> PostgresAuthStore::GetGrant(const std::string& grant_id) {
  static const std::string kSql =
      S({"SELECT ", kGrantColumns, " FROM auth_grant WHERE grant_id = $1"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {grant_id}));
  if (r.rows() == 0) {
    return std::optional<Grant>();
  }
  return std::optional<Grant>(ToGrant(r, 0));
}

StatusOr<std::optional<Grant>> PostgresAuthStore::FindGrantByRefresh(
    const std::string& refresh_hash) {
  static const std::string kSql = S({"SELECT ", kGrantColumns,
                                     " FROM auth_grant WHERE refresh_hash = $1 AND "
                                     "refresh_hash <> ''"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {refresh_hash}));
  if (r.rows() == 0) {
    return std::optional<Grant>();
  }
  return std::optional<Grant>(ToGrant(r, 0));
}

StatusOr<bool> PostgresAuthStore::RotateRefresh(const std::string& grant_id,
                                                const std::string& old_hash,
                                                const std::string& new_hash,
                                                base::Millis expires_at, base::Millis used_at) {
  if (old_hash.empty()) {
    return false;
  }
  ASSIGN_OR_RETURN(PgResult r, Exec("UPDATE auth_grant SET refresh_hash = $1, "
                                    "refresh_expires_at = $2, last_used_at = GREATEST("
                                    "last_used_at, $5) WHERE grant_id = $3 AND "
                                    "refresh_hash = $4 AND revoked = 0",
                                    {new_hash, expires_at, grant_id, old_hash, used_at}));
  return r.Changed() > 0;
}

Status PostgresAuthStore::RevokeGrant(const std::string& grant_id) {
  return Exec("UPDATE auth_grant SET revoked = 1 WHERE grant_id = $1", {grant_id}).status();
}

Status PostgresAuthStore::RevokeGrantsOf(const std::string& username,
                                         const std::string& patient_id) {
  return Exec(
             "UPDATE auth_grant SET revoked = 1 WHERE username = $1 AND revoked = 0 AND "
             "($2 = '' OR patient_id = $2)",
             {username, patient_id})
      .status();
}

StatusOr<std::vector<Grant>> PostgresAuthStore::ListGrants(const std::string& username) {
  static const std::string kSql = S({"SELECT ", kGrantColumns,
                                     " FROM auth_grant WHERE username = $1 ORDER BY created_at, "
                                     "grant_id"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {username}));
  std::vector<Grant> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ToGrant(r, i));
  }
  return out;
}

StatusOr<std::vector<Grant>> PostgresAuthStore::ListGrantsForPatients(
    const std::vector<std::string>& patient_ids) {
  if (patient_ids.empty()) {
    return std::vector<Grant>();
  }
  // The ids travel as one JSON array parameter: one prepared statement whatever their number.
  static const std::string kSql =
      S({"SELECT ", kGrantColumns,
         " FROM auth_grant WHERE patient_id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
         "ORDER BY created_at, grant_id"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {EncodeStringArray(patient_ids)}));
  std::vector<Grant> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ToGrant(r, i));
  }
  return out;
}

StatusOr<int> PostgresAuthStore::SupersedeGrants(const std::string& username,
                                                 const std::string& client_id,
                                                 const std::string& keep_grant_id, int max_live) {
  if (max_live <= 0) {
    return 0;
  }
  // Keeps `keep_grant_id` and the newest max_live - 1 others; revokes the rest.
  ASSIGN_OR_RETURN(
      PgResult r,
      Exec("UPDATE auth_grant SET revoked = 1 WHERE username = $1 AND client_id = $2 AND "
           "revoked = 0 AND grant_id <> $3 AND grant_id NOT IN (SELECT grant_id FROM auth_grant "
           "WHERE username = $1 AND client_id = $2 AND revoked = 0 AND grant_id <> $3 "
           "ORDER BY created_at DESC, grant_id DESC LIMIT $4)",
           {username, client_id, keep_grant_id, int64_t{max_live - 1}}));
  return static_cast<int>(r.Changed());
}

StatusOr<bool> PostgresAuthStore::GrantActive(const std::string& grant_id) {
  // One statement: the grant is live and its client (if registered) is active.
  ASSIGN_OR_RETURN(PgResult r, Exec("SELECT 1 FROM auth_grant g LEFT JOIN auth_client c "
                                    "ON c.client_id = g.client_id WHERE g.grant_id = $1 AND "
                                    "g.revoked = 0 AND COALESCE(c.status, 'active') = 'active'",
                                    {grant_id}));
  return r.rows() > 0;
}

Status PostgresAuthStore::TouchGrant(const std::string& grant_id, base::Millis at) {
  return Exec("UPDATE auth_grant SET last_used_at = $1 WHERE grant_id = $2 AND last_used_at < $1",
              {at, grant_id})
      .status();
}

// ---- Signing keys ----

StatusOr<std::vector<SigningKeyRecord>> PostgresAuthStore::ListSigningKeys() {
  static const std::string kSql =
      S({"SELECT ", kKeyColumns, " FROM auth_signing_key ORDER BY created_at, kid"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {}));
  std::vector<SigningKeyRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ToKey(r, i));
  }
  return out;
}

Status PostgresAuthStore::PutSigningKey(const SigningKeyRecord& key) {
  static const std::string kSql = S({"INSERT INTO auth_signing_key (", kKeyColumns,
                                     ") VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING"});
  ASSIGN_OR_RETURN(PgResult r,
                   Exec(kSql, {key.kid, key.private_pem, key.created_at, key.retired_at}));
  if (r.Changed() == 0) {
    return Status(StatusCode::kAborted, "signing key '" + key.kid + "' already exists");
  }
  return Status::Ok();
}

Status PostgresAuthStore::RetireSigningKeys(base::Millis at) {
  return Exec("UPDATE auth_signing_key SET retired_at = $1 WHERE retired_at = 0", {at}).status();
}

// ---- Audit ----

Status PostgresAuthStore::Audit(const AuditEvent& e) {
  return Exec(
             "INSERT INTO auth_audit (at, event, client_id, username, patient_id, detail) "
             "VALUES ($1, $2, $3, $4, $5, $6)",
             {e.at, e.event, e.client_id, e.username, e.patient_id, e.detail})
      .status();
}

Status PostgresAuthStore::AuditBatch(const std::vector<AuditEvent>& events) {
  if (events.empty()) {
    return Status::Ok();
  }
  std::string data;
  for (const AuditEvent& e : events) {
    AppendCopyField(data, e.at);
    for (const std::string* f : {&e.event, &e.client_id, &e.username, &e.patient_id, &e.detail}) {
      data.push_back('\t');
      AppendCopyField(data, *f);
    }
    data.push_back('\n');
  }
  return InTransaction([&](PgConn& db) {
    return db.Copy(
        "COPY auth_audit (at, event, client_id, username, patient_id, detail) FROM STDIN", data);
  });
}

StatusOr<std::vector<AuditEvent>> PostgresAuthStore::ListAudit(int limit) {
  if (limit <= 0) {
    return std::vector<AuditEvent>();
  }
  static const std::string kSql =
      S({"SELECT ", kAuditColumns, " FROM auth_audit ORDER BY at DESC, id DESC LIMIT $1"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {int64_t{limit}}));
  std::vector<AuditEvent> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ToAudit(r, i));
  }
  return out;
}

StatusOr<std::vector<AuditEvent>> PostgresAuthStore::ListAuditForPatients(
    const std::vector<std::string>& patient_ids, const std::vector<std::string>& events,
    int limit) {
  if (limit <= 0 || patient_ids.empty() || events.empty()) {
    return std::vector<AuditEvent>();
  }
  static const std::string kSql =
      S({"SELECT ", kAuditColumns,
         " FROM auth_audit WHERE patient_id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
         "AND event IN (SELECT jsonb_array_elements_text($2::jsonb)) "
         "ORDER BY at DESC, id DESC LIMIT $3"});
  ASSIGN_OR_RETURN(PgResult r, Exec(kSql, {EncodeStringArray(patient_ids),
                                           EncodeStringArray(events), int64_t{limit}}));
  std::vector<AuditEvent> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ToAudit(r, i));
  }
  return out;
}

StatusOr<std::string> PostgresAuthStore::SharedSecret(const std::string& name,
                                                      const std::string& candidate,
                                                      base::Millis now) {
  // One statement: insert unless present, then read what is there (the first writer wins).
  ASSIGN_OR_RETURN(
      PgResult r,
      Exec("WITH ins AS (INSERT INTO auth_secret (name, value, created_at) VALUES ($1, $2, $3) "
           "ON CONFLICT (name) DO NOTHING RETURNING value) "
           "SELECT value FROM ins UNION ALL SELECT value FROM auth_secret WHERE name = $1",
           {name, candidate, now}));
  if (r.rows() == 0) {
    return InternalError("the shared secret " + name + " was not stored");
  }
  return std::string(r.Text(0, 0));
}

}  // namespace portico::store::postgres
