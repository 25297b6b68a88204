#include "src/store/postgres/migrations.h"

#include <chrono>

namespace portico::store::postgres {

namespace {

// Advisory lock key for schema changes ("portico" in ASCII).
constexpr int64_t kMigrationLockKey = 0x706f727469636fLL;

// "CTEXT" in the statements below stands for text compared bytewise (COLLATE "C"), whatever the
// database's locale: search ranges, LIKE prefixes and _sort order then match the SQLite backend,
// and btree indexes serve LIKE 'prefix%'.
std::string Expand(std::string sql) {
  const std::string from = "CTEXT";
  const std::string to = "TEXT COLLATE \"C\"";
  for (size_t pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos)) {
    sql.replace(pos, from.size(), to);
    pos += to.size();
  }
  return sql;
}

// Release 0.1: the resource store and the authorization server's tables, the same shape as the
// SQLite schema (text bodies, typed index tables, the patient compartment table).
constexpr const char* kV1 = R"sql(
CREATE TABLE resource (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type CTEXT NOT NULL,
  id CTEXT NOT NULL,
  version BIGINT NOT NULL,
  last_updated BIGINT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  hash TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (type, id)
);
CREATE INDEX resource_type_updated ON resource (type, last_updated);
CREATE INDEX resource_type_seq ON resource (type, deleted, seq);
CREATE TABLE resource_version (
  type CTEXT NOT NULL,
  id CTEXT NOT NULL,
  version BIGINT NOT NULL,
  last_updated BIGINT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL,
  PRIMARY KEY (type, id, version)
);
CREATE INDEX resource_version_updated ON resource_version (last_updated);
CREATE INDEX resource_version_type_updated ON resource_version (type, last_updated);
CREATE TABLE idx_token (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  system CTEXT NOT NULL, code CTEXT NOT NULL, text CTEXT NOT NULL);
CREATE INDEX idx_token_code ON idx_token (type, param, code, system, res);
CREATE INDEX idx_token_res ON idx_token (res);
CREATE TABLE idx_string (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  norm CTEXT NOT NULL, exact CTEXT NOT NULL);
CREATE INDEX idx_string_norm ON idx_string (type, param, norm, res);
CREATE INDEX idx_string_res ON idx_string (res);
CREATE TABLE idx_date (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  lo BIGINT NOT NULL, hi BIGINT NOT NULL);
CREATE INDEX idx_date_lo ON idx_date (type, param, lo, hi, res);
CREATE INDEX idx_date_res ON idx_date (res);
CREATE TABLE idx_reference (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  target_type CTEXT NOT NULL, target_id CTEXT NOT NULL, url CTEXT NOT NULL);
CREATE INDEX idx_reference_target ON idx_reference (type, param, target_id, target_type, res);
CREATE INDEX idx_reference_rev ON idx_reference (target_type, target_id, type, param);
CREATE INDEX idx_reference_res ON idx_reference (res);
CREATE TABLE idx_quantity (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL, system CTEXT NOT NULL, code CTEXT NOT NULL,
  unit CTEXT NOT NULL);
CREATE INDEX idx_quantity_value ON idx_quantity (type, param, value, res);
CREATE INDEX idx_quantity_res ON idx_quantity (res);
CREATE TABLE idx_number (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL);
CREATE INDEX idx_number_value ON idx_number (type, param, value, res);
CREATE INDEX idx_number_res ON idx_number (res);
CREATE TABLE idx_uri (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  value CTEXT NOT NULL);
CREATE INDEX idx_uri_value ON idx_uri (type, param, value, res);
CREATE INDEX idx_uri_res ON idx_uri (res);
CREATE TABLE idx_composite (res BIGINT NOT NULL, type CTEXT NOT NULL, param CTEXT NOT NULL,
  grp BIGINT NOT NULL, comp BIGINT NOT NULL, system CTEXT NOT NULL, code CTEXT NOT NULL,
  text CTEXT NOT NULL, norm CTEXT NOT NULL, exact CTEXT NOT NULL, lo BIGINT NOT NULL,
  hi BIGINT NOT NULL, target_type CTEXT NOT NULL, target_id CTEXT NOT NULL, url CTEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL, unit CTEXT NOT NULL);
CREATE INDEX idx_composite_code ON idx_composite (type, param, comp, code, res, grp);
CREATE INDEX idx_composite_res ON idx_composite (res, param, grp, comp);
CREATE TABLE compartment (patient CTEXT NOT NULL, type CTEXT NOT NULL, res BIGINT NOT NULL,
  PRIMARY KEY (patient, type, res));
CREATE INDEX compartment_res ON compartment (res);

CREATE TABLE auth_client (
  client_id CTEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
  secret_hash TEXT NOT NULL, jwks_url TEXT NOT NULL, jwks_json TEXT NOT NULL,
  redirect_uris TEXT NOT NULL, scope TEXT NOT NULL, active INTEGER NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE auth_user (
  username CTEXT PRIMARY KEY, password_hash TEXT NOT NULL, patient_id TEXT NOT NULL,
  fhir_user TEXT NOT NULL, failed_logins INTEGER NOT NULL, locked_until BIGINT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE auth_user_represents (
  username CTEXT NOT NULL, ord INTEGER NOT NULL, patient_id CTEXT NOT NULL,
  PRIMARY KEY (username, ord));
CREATE INDEX auth_user_represents_patient ON auth_user_represents (patient_id);
CREATE TABLE auth_request (
  id_hash CTEXT PRIMARY KEY, session_hash TEXT NOT NULL, csrf_token TEXT NOT NULL,
  client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, state TEXT NOT NULL,
  nonce TEXT NOT NULL, code_challenge TEXT NOT NULL, code_challenge_method TEXT NOT NULL,
  username TEXT NOT NULL, patient_id TEXT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX auth_request_expires ON auth_request (expires_at);
CREATE TABLE auth_code (
  code_hash CTEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
  scope TEXT NOT NULL, username TEXT NOT NULL, patient_id TEXT NOT NULL, nonce TEXT NOT NULL,
  code_challenge TEXT NOT NULL, code_challenge_method TEXT NOT NULL, grant_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE INDEX auth_code_expires ON auth_code (expires_at);
CREATE TABLE auth_grant (
  grant_id CTEXT PRIMARY KEY, client_id CTEXT NOT NULL, username CTEXT NOT NULL,
  patient_id CTEXT NOT NULL, scope TEXT NOT NULL, refresh_hash CTEXT NOT NULL,
  refresh_expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL, last_used_at BIGINT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX auth_grant_refresh ON auth_grant (refresh_hash) WHERE refresh_hash <> '';
CREATE INDEX auth_grant_user ON auth_grant (username, patient_id);
CREATE INDEX auth_grant_client ON auth_grant (client_id);
CREATE TABLE auth_signing_key (
  kid CTEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at BIGINT NOT NULL,
  retired_at BIGINT NOT NULL DEFAULT 0);
CREATE TABLE auth_audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, event TEXT NOT NULL,
  client_id TEXT NOT NULL, username TEXT NOT NULL, patient_id TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX auth_audit_at ON auth_audit (at);
)sql";

// The distribution key: every member-data table carries the patient compartment its row belongs
// to ('' for data outside every compartment, e.g. Organization), so a sharded PostgreSQL
// (Citus-style) can distribute them by patient and co-locate a member's rows (docs/scaling.md).
// Existing rows are backfilled from the compartment table.
constexpr const char* kV2 = R"sql(
ALTER TABLE resource ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE resource_version ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_token ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_string ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_date ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_reference ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_quantity ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_number ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_uri ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
ALTER TABLE idx_composite ADD COLUMN patient CTEXT NOT NULL DEFAULT '';
UPDATE resource r SET patient = c.patient
  FROM (SELECT res, MIN(patient) AS patient FROM compartment GROUP BY res) c WHERE c.res = r.seq;
UPDATE resource_version v SET patient = r.patient
  FROM resource r WHERE r.type = v.type AND r.id = v.id AND r.patient <> '';
UPDATE idx_token x SET patient = r.patient FROM resource r WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_string x SET patient = r.patient FROM resource r WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_date x SET patient = r.patient FROM resource r WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_reference x SET patient = r.patient FROM resource r
  WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_quantity x SET patient = r.patient FROM resource r
  WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_number x SET patient = r.patient FROM resource r WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_uri x SET patient = r.patient FROM resource r WHERE r.seq = x.res AND r.patient <> '';
UPDATE idx_composite x SET patient = r.patient FROM resource r
  WHERE r.seq = x.res AND r.patient <> '';
CREATE INDEX resource_patient ON resource (patient, type);
)sql";

// App registration (RFC 7591 metadata), client status (active, suspended, pending review) and
// operator accounts for the admin API and pages. `active` stays, mirroring status = 'active'.
constexpr const char* kV3 = R"sql(
ALTER TABLE auth_client ADD COLUMN client_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN policy_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN tos_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN logo_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE auth_client ADD COLUMN attestation TEXT NOT NULL DEFAULT '{}';
ALTER TABLE auth_client ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE auth_client ADD COLUMN registered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_client ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE auth_client SET status = CASE WHEN active <> 0 THEN 'active' ELSE 'suspended' END,
  registered_by = 'cli', updated_at = created_at;
CREATE TABLE auth_operator (
  username CTEXT PRIMARY KEY, password_hash TEXT NOT NULL, failed_logins INTEGER NOT NULL,
  locked_until BIGINT NOT NULL, created_at BIGINT NOT NULL);
)sql";

// The member-data tables keyed by their patient compartment, the distribution column of a
// sharded deployment (whose unique keys must contain it): resource (patient, seq) and
// (patient, type, id), resource_version (patient, type, id, version); compartment already is.
// Uniqueness of type/id across patients is kept by the writer, which looks every key up under
// the write lock before it inserts; plain indexes serve the lookups by seq and by type/id.
constexpr const char* kV4 = R"sql(
ALTER TABLE resource DROP CONSTRAINT resource_pkey;
ALTER TABLE resource DROP CONSTRAINT resource_type_id_key;
ALTER TABLE resource ADD CONSTRAINT resource_pkey PRIMARY KEY (patient, seq);
ALTER TABLE resource ADD CONSTRAINT resource_patient_type_id UNIQUE (patient, type, id);
CREATE INDEX resource_seq ON resource (seq);
CREATE INDEX resource_type_id ON resource (type, id);
ALTER TABLE resource_version DROP CONSTRAINT resource_version_pkey;
ALTER TABLE resource_version ADD CONSTRAINT resource_version_pkey
  PRIMARY KEY (patient, type, id, version);
CREATE INDEX resource_version_type_id ON resource_version (type, id, version);
)sql";

// Indexes for the per-session, per-client and per-member limits on authorization requests and
// codes (counted on every authorization).
constexpr const char* kV5 = R"sql(
CREATE INDEX auth_request_session ON auth_request (session_hash);
CREATE INDEX auth_request_client ON auth_request (client_id);
CREATE INDEX auth_code_user ON auth_code (username);
)sql";

// Secrets every node shares (the key that signs paging cursors), and the indexes behind a
// member's connected-apps page (grants and access history by patient).
constexpr const char* kV6 = R"sql(
CREATE TABLE auth_secret (name CTEXT PRIMARY KEY, value TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX auth_grant_patient ON auth_grant (patient_id);
CREATE INDEX auth_audit_patient ON auth_audit (patient_id, at);
)sql";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration>* migrations = new std::vector<Migration>{
      {1, "resources, versions, search indexes, compartments and auth data", Expand(kV1)},
      {2, "patient distribution key on every member-data table", Expand(kV2)},
      {3, "app registration metadata, client status and operator accounts", Expand(kV3)},
      {4, "member-data keys lead with the patient compartment", Expand(kV4)},
      {5, "indexes for the limits on authorization requests and codes", Expand(kV5)},
      {6, "shared secrets; grants and audit by patient", Expand(kV6)},
  };
  return *migrations;
}

int LatestSchemaVersion() { return Migrations().back().version; }

StatusOr<int> SchemaVersion(PgConn& conn) {
  ASSIGN_OR_RETURN(PgResult exists,
                   conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL"));
  if (exists.rows() == 0 || exists.Text(0, 0) != "t") {
    return 0;
  }
  ASSIGN_OR_RETURN(PgResult v,
                   conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return static_cast<int>(v.Int(0, 0));
}

StatusOr<int> Migrate(PgConn& conn, int target) {
  if (target < 0) {
    target = LatestSchemaVersion();
  }
  RETURN_IF_ERROR(conn.Exec("BEGIN").status());
  auto run = [&]() -> StatusOr<int> {
    // A migration may rewrite large tables: no statement timeout inside this transaction.
    RETURN_IF_ERROR(conn.Exec("SET LOCAL statement_timeout = 0").status());
    RETURN_IF_ERROR(conn.Exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey}).status());
    RETURN_IF_ERROR(conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                              "PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT "
                              "NULL)")
                        .status());
    ASSIGN_OR_RETURN(int current, SchemaVersion(conn));
    if (current > LatestSchemaVersion()) {
      return Status(StatusCode::kFailedPrecondition, "database schema " + std::to_string(current) +
                                                         " is newer than this server supports (" +
                                                         std::to_string(LatestSchemaVersion()) +
                                                         ")");
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current || m.version > target) {
        continue;
      }
      // A multi-statement string needs the simple query protocol (no parameters).
      PGresult* res = PQexec(conn.raw(), m.sql.c_str());
      bool ok = res != nullptr && PQresultStatus(res) == PGRES_COMMAND_OK;
      std::string err = ok ? "" : PQerrorMessage(conn.raw());
      if (res != nullptr) {
        PQclear(res);
      }
      if (!ok) {
        size_t nl = err.find('\n');
        return InternalError("schema migration " + std::to_string(m.version) +
                             " failed: " + err.substr(0, nl));
      }
      int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
      RETURN_IF_ERROR(conn.Exec("INSERT INTO schema_migrations (version, description, "
                                "applied_at) VALUES ($1, $2, $3)",
                                {int64_t{m.version}, m.description, now})
                          .status());
      current = m.version;
    }
    return current;
  };
  StatusOr<int> out = run();
  if (!out.ok()) {
    (void)conn.Exec("ROLLBACK");
    return out.status();
  }
  RETURN_IF_ERROR(conn.Exec("COMMIT").status());
  return out;
}

}  // namespace portico::store::postgres
