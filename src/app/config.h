// Server configuration: defaults, then a TOML file, then command-line flags (flags win).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/status.h"

namespace portico::app {

struct Config {
  std::string db = "sqlite:portico.db";
  // PostgreSQL only (ignored for sqlite:): an optional read replica for resource reads and
  // searches, the connection pool size per server (0 = 2 x threads, at least 8) and timeouts.
  std::string db_read_url;
  int db_pool_size = 0;
  int db_connect_timeout_seconds = 5;
  int db_acquire_timeout_ms = 5000;
  int db_statement_timeout_ms = 30000;
  // Named prepared statements, cached per connection (plans are reused). Turn off behind a
  // pooler in transaction mode that does not track them (pgbouncer before 1.21).
  bool db_prepared_statements = true;
  std::string listen = "127.0.0.1:8080";
  std::string base_url;  // default: http://<listen>
  int threads = 0;
  bool access_log = false;
  int default_count = 20;
  int max_count = 200;
  int64_t max_body_bytes = 16 * 1024 * 1024;
  std::string paging_secret;
  int header_timeout_seconds = 10;
  // When set, /metrics answers only requests with `Authorization: Bearer <metrics_token>`.
  std::string metrics_token;
  std::string tls_cert;  // PEM certificate chain (with tls_key: serve HTTPS)
  std::string tls_key;
  int access_token_seconds = 1800;
  int code_seconds = 60;
  int refresh_days = 120;
  // Bounds on what one browser, app or member can pile up (0 = no limit): authorization requests
  // in progress per browser session and per client, unused codes per member, and live grants per
  // (member, app), where a new grant revokes the oldest beyond the limit.
  int max_auth_requests_per_session = 20;
  int max_auth_requests_per_client = 10000;
  int max_codes_per_user = 20;
  int max_grants_per_user_client = 10;
  // Requests per second and burst per client IP (0 = off), and per client on the token endpoint.
  double rate_limit_fhir_per_ip = 0;
  double rate_limit_token_per_ip = 0;
  double rate_limit_token_per_client = 0;
  // Registrations per second per client IP at /oauth/register (burst 5; 0 = off).
  double rate_limit_register_per_ip = 0.1;
  // RFC 7591 dynamic registration at /oauth/register: "off" (default), "review" (new apps wait
  // for an operator) or "open".
  std::string dynamic_registration = "off";
  // Proxies whose X-Forwarded-For names the real client (exact addresses).
  std::vector<std::string> trusted_proxies;
  bool verbose = false;
};

// Reads the keys of a TOML file into `config` (only keys present in the file are set).
// Keys: db, listen, base_url, threads, access_log, default_count, max_count, max_body_bytes,
// paging_secret, metrics_token, read_url, pool_size, connect_timeout_seconds, acquire_timeout_ms,
// statement_timeout_ms, prepared_statements, dynamic_registration, rate_limit_*,
// access_token_seconds, code_seconds, refresh_days, max_auth_requests_per_session,
// max_auth_requests_per_client, max_codes_per_user, max_grants_per_user_client (clamped to
// 0..1000000, 0 = no limit); also accepted inside [server], [database] (db as url) and [fhir]
// tables.
Status LoadConfigFile(const std::string& path, Config& config);
// As LoadConfigFile, for TOML text already in memory; `source` names it in error messages.
Status LoadConfigString(std::string_view text, const std::string& source, Config& config);

// Splits "host:port" ("[::1]:8080" for IPv6).
Status ParseListen(const std::string& listen, std::string& host, uint16_t& port);

// "sqlite:PATH" -> PATH. Unsupported schemes are an error that names what is supported.
StatusOr<std::string> SqlitePath(const std::string& db);

// True for postgresql:// and postgres:// URLs.
bool IsPostgresUrl(const std::string& db);

}  // namespace portico::app
