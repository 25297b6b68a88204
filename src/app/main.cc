// `portico`: the CMS Patient Access API server and its operator commands.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "src/app/admin_commands.h"
#include "src/app/commands.h"
#include "src/app/config.h"

namespace {

constexpr const char* kDescription =
    "Portico: a CMS Patient Access API server (FHIR R4 resource server for CARIN Blue Button, US "
    "Core, PDex and HRex).";

constexpr const char* kDbHelp = "Database: sqlite:PATH or postgresql://USER@HOST:PORT/DB";

}  // namespace

int main(int argc, char** argv) {
  // Past the file size limit (RLIMIT_FSIZE) a write fails with EFBIG, which SQLite reports as an
  // I/O error the caller can answer (503, a failed import); the default SIGXFSZ would kill the
  // server (or an import half way through) instead.
  std::signal(SIGXFSZ, SIG_IGN);
  using portico::app::Config;
  CLI::App app{kDescription, "portico"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "portico 0.1.0");

  Config flags;
  std::string config_file;

  // serve
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve the FHIR API at {base}/fhir (and /healthz, /readyz).");
  serve->add_option("--db", flags.db,
                    "Database: sqlite:PATH (default sqlite:portico.db) or "
                    "postgresql://USER@HOST:PORT/DB");
  serve->add_option("--db-read-url", flags.db_read_url,
                    "PostgreSQL read replica for resource reads and searches (optional)");
  serve->add_option("--db-pool-size", flags.db_pool_size,
                    "PostgreSQL connections per server (default: 2 x threads, at least 8)");
  serve
      ->add_option("--db-statement-timeout-ms", flags.db_statement_timeout_ms,
                   "PostgreSQL: cancel a statement after this long, answering 503 (default "
                   "30000; 0 = none)")
      ->check(CLI::Range(0, 86400000));
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  serve->add_option("--base-url", flags.base_url,
                    "Public base URL; the FHIR base is {base-url}/fhir (default http://HOST:PORT)");
  serve->add_option("--config", config_file, "TOML config file (flags win over its values)");
  serve->add_option("--threads", flags.threads, "I/O threads (default: number of cores)");
  serve->add_flag("--access-log", flags.access_log,
                  "Log one JSON line per request (method, status, duration; never queries, "
                  "bodies or tokens)");
  serve->add_option("--max-count", flags.max_count, "Largest _count a search may ask for (200)");
  serve->add_option("--tls-cert", flags.tls_cert,
                    "PEM certificate chain: serve HTTPS (TLS 1.2 and 1.3 only) with --tls-key");
  serve->add_option("--tls-key", flags.tls_key, "PEM private key for --tls-cert");
  serve
      ->add_option("--dynamic-registration", flags.dynamic_registration,
                   "RFC 7591 dynamic registration at /oauth/register: off (default), review "
                   "(new apps wait for an operator) or open")
      ->check(CLI::IsMember({"off", "review", "open"}));

  // import
  std::vector<std::string> paths;
  bool no_validate = false;
  std::string profile_check = "warn";
  CLI::App* import = app.add_subcommand(
      "import",
      "Load FHIR JSON files or directories (recursively): resources, Bundles (collection, "
      "transaction, batch, searchset) and NDJSON. Each file is stored atomically; exit code 0 "
      "only when every file loaded.");
  import->add_option("--db", flags.db,
                     "Database: sqlite:PATH (default sqlite:portico.db) or "
                     "postgresql://USER@HOST:PORT/DB");
  import->add_option("--config", config_file, "TOML config file (flags win over its values)");
  import->add_flag("--no-validate", no_validate,
                   "Skip the structural R4 validation of each resource");
  import->add_option("--profile-check", profile_check,
                     "Profile conformance (meta.profile, required elements, codes, bindings) and "
                     "reference checks: warn (default: store and print warnings), reject (a "
                     "resource with a profile error fails its file) or off")
      ->check(CLI::IsMember({"warn", "reject", "off"}));
  import->add_flag("--verbose", flags.verbose, "Print a line for each file once it is stored");
  import->add_option("paths", paths, "Files or directories to load")->required();

  // migrate
  CLI::App* migrate = app.add_subcommand(
      "migrate", "Bring the database schema to this release (forward-only; safe to run while "
                 "other nodes start).");
  migrate->add_option("--db", flags.db,
                      "Database: sqlite:PATH or postgresql://USER@HOST:PORT/DB");
  migrate->add_option("--config", config_file, "TOML config file (flags win over its values)");

  // generate
  int members = 3;
  uint64_t seed = 42;
  std::string out;
  CLI::App* generate = app.add_subcommand(
      "generate", "Write the deterministic demo data set as NDJSON (one resource per line).");
  generate->add_option("--members", members, "Number of members (default 3)");
  generate->add_option("--seed", seed, "Seed of the synthetic members (default 42)");
  generate->add_option("--out", out, "Output file (default: standard output)");

  // client add|list|remove
  std::string admin_db = "sqlite:portico.db";
  portico::app::ClientAddOptions client_opts;
  CLI::App* client = app.add_subcommand("client", "Register and manage apps (OAuth clients).");
  client->require_subcommand(1);
  CLI::App* client_add = client->add_subcommand(
      "add",
      "Register an app. Without --secret-stdin, --public, --jwks-url or --jwks-file a client "
      "secret is generated and printed once.");
  client_add->add_option("--db", admin_db, kDbHelp)->required();
  client_add->add_option("--client-id", client_opts.client_id, "The client_id")->required();
  client_add->add_option("--redirect-uri", client_opts.redirect_uris,
                         "A registered redirect URI (repeat for several)")
      ->required();
  client_add->add_option("--name", client_opts.name, "Name shown to members on the consent page");
  client_add->add_flag("--secret-stdin", client_opts.secret_stdin,
                       "Read the client secret from standard input (confidential-symmetric)");
  client_add->add_flag("--public", client_opts.is_public,
                       "A public client (no secret; PKCE required)");
  client_add->add_option("--jwks-url", client_opts.jwks_url,
                         "Where the client's public keys are (private_key_jwt)");
  client_add->add_option("--jwks-file", client_opts.jwks_file,
                         "A file with the client's public JWKS (private_key_jwt)");
  client_add->add_option("--scope", client_opts.scope,
                         "Space-separated scopes the client may ask for (default: any)");
  client_add->add_option("--client-uri", client_opts.client_uri, "The app's home page (https)");
  client_add->add_option("--policy-uri", client_opts.policy_uri,
                         "The app's privacy policy (https)");
  client_add->add_option("--tos-uri", client_opts.tos_uri, "The app's terms of service (https)");
  client_add->add_option("--logo-uri", client_opts.logo_uri, "The app's logo (https)");
  client_add->add_option("--contact", client_opts.contacts,
                         "E-mail address of someone responsible for the app (repeat for several)");
  client_add->add_option("--attest", client_opts.attest,
                         "An attestation answer QUESTION=yes|no (repeat); questions: "
                         "privacy_policy_published, sells_data, secondary_use, "
                         "member_can_delete, carin_code_of_conduct");
  client_add->add_flag("--pending", client_opts.pending,
                       "Register as pending review (unusable until `client activate`)");
  CLI::App* client_list = client->add_subcommand(
      "list", "List registered apps (client_id, type, name, redirect URIs, status).");
  client_list->add_option("--db", admin_db, kDbHelp)->required();
  std::string remove_id;
  CLI::App* client_remove = client->add_subcommand(
      "remove", "Remove an app; every grant it holds is revoked at once.");
  client_remove->add_option("--db", admin_db, kDbHelp)->required();
  client_remove->add_option("--client-id", remove_id, "The client_id")->required();
  std::string status_id;
  CLI::App* client_suspend = client->add_subcommand(
      "suspend",
      "Suspend an app: it cannot sign members in or get tokens, and every token it "
      "holds stops working at once (grants are kept for `activate`).");
  CLI::App* client_activate = client->add_subcommand(
      "activate", "Activate a suspended or pending app; grants that were not revoked work again.");
  for (CLI::App* sub : {client_suspend, client_activate}) {
    sub->add_option("--db", admin_db, kDbHelp)->required();
    auto* positional = sub->add_option("client_id", status_id, "The client_id");
    auto* named = sub->add_option("--client-id", status_id, "The client_id");
    positional->excludes(named);
    sub->callback([sub] {
      if (sub->count("client_id") + sub->count("--client-id") == 0) {
        throw CLI::RequiredError("client_id");
      }
    });
  }

  // operator add|list|remove
  std::string operator_name;
  bool operator_password_stdin = false;
  CLI::App* oper = app.add_subcommand(
      "operator", "Manage operator accounts for the admin API and pages (/admin).");
  oper->require_subcommand(1);
  CLI::App* operator_add = oper->add_subcommand(
      "add",
      "Create an operator account or set its password (read from standard input; at "
      "least 12 characters). Setting the password also unlocks the account.");
  operator_add->add_option("--db", admin_db, kDbHelp)->required();
  operator_add->add_option("--username", operator_name, "Operator login name")->required();
  operator_add
      ->add_flag("--password-stdin", operator_password_stdin,
                 "Read the password from standard input")
      ->required();
  CLI::App* operator_list = oper->add_subcommand("list", "List operator accounts.");
  operator_list->add_option("--db", admin_db, kDbHelp)->required();
  CLI::App* operator_remove = oper->add_subcommand("remove", "Remove an operator account.");
  operator_remove->add_option("--db", admin_db, kDbHelp)->required();
  {
    auto* positional = operator_remove->add_option("username", operator_name, "Login name");
    auto* named = operator_remove->add_option("--username", operator_name, "Login name");
    positional->excludes(named);
    operator_remove->callback([operator_remove] {
      if (operator_remove->count("username") + operator_remove->count("--username") == 0) {
        throw CLI::RequiredError("username");
      }
    });
  }

  // user add|list|remove|set-password
  portico::app::UserAddOptions user_opts;
  CLI::App* user = app.add_subcommand("user", "Manage member and delegate accounts.");
  user->require_subcommand(1);
  CLI::App* user_add = user->add_subcommand(
      "add", "Create or replace an account. Members named by --represents are those this person "
             "may act for as a delegate (parent, guardian, representative).");
  user_add->add_option("--db", admin_db, kDbHelp)->required();
  user_add->add_option("--username", user_opts.username, "Login name")->required();
  user_add->add_flag("--password-stdin", user_opts.password_stdin,
                     "Read the password from standard input")
      ->required();
  user_add->add_option("--patient", user_opts.patient, "The member's own Patient id");
  user_add->add_option("--represents", user_opts.represents,
                       "A Patient id this person may act for (repeat for several)");
  user_add->add_option("--fhir-user", user_opts.fhir_user,
                       "The person's own FHIR resource, e.g. RelatedPerson/123 (default: "
                       "Patient/<--patient>)");
  CLI::App* user_list = user->add_subcommand("list", "List accounts.");
  user_list->add_option("--db", admin_db, kDbHelp)->required();
  std::string remove_user;
  CLI::App* user_remove = user->add_subcommand(
      "remove", "Remove an account; its grants are revoked at once.");
  user_remove->add_option("--db", admin_db, kDbHelp)->required();
  user_remove->add_option("--username", remove_user, "Login name")->required();
  portico::app::UserAddOptions pw_opts;
  CLI::App* user_pw = user->add_subcommand(
      "set-password", "Set a new password (read from standard input) and unlock the account.");
  user_pw->add_option("--db", admin_db, kDbHelp)->required();
  user_pw->add_option("--username", pw_opts.username, "Login name")->required();
  user_pw->add_flag("--password-stdin", pw_opts.password_stdin,
                    "Read the password from standard input")
      ->required();

  // keys rotate
  CLI::App* keys = app.add_subcommand("keys", "Manage the token-signing keys.");
  keys->require_subcommand(1);
  CLI::App* keys_rotate = keys->add_subcommand(
      "rotate",
      "Start signing with new keys (RSA for ID tokens, P-256 for access tokens); old "
      "keys stay published until their tokens expire.");
  keys_rotate->add_option("--db", admin_db, kDbHelp)->required();

  // token
  std::string token_base;
  std::string token_scope = "system/*.read";
  int token_ttl = 3600;
  CLI::App* token = app.add_subcommand(
      "token", "Mint a read-only operator access token (system/ scopes, no patient) for "
               "support and testing. Every use is audited.");
  token->add_option("--db", admin_db, kDbHelp)->required();
  token->add_option("--base-url", token_base, "The server's public base URL (its issuer)")
      ->required();
  token->add_option("--scope", token_scope, "system/ scopes (default system/*.read)");
  token->add_option("--ttl", token_ttl, "Lifetime in seconds (60-86400, default 3600)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  // Config precedence: defaults < config file < flags. Re-apply flags the user set explicitly.
  Config config;
  if (!config_file.empty()) {
    if (auto s = portico::app::LoadConfigFile(config_file, config); !s.ok()) {
      std::fprintf(stderr, "portico: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (client_add->parsed()) {
    return portico::app::RunClientAdd(admin_db, client_opts);
  }
  if (client_list->parsed()) {
    return portico::app::RunClientList(admin_db);
  }
  if (client_remove->parsed()) {
    return portico::app::RunClientRemove(admin_db, remove_id);
  }
  if (client_suspend->parsed() || client_activate->parsed()) {
    return portico::app::RunClientSetStatus(admin_db, status_id, client_activate->parsed());
  }
  if (operator_add->parsed()) {
    return portico::app::RunOperatorAdd(admin_db, operator_name, operator_password_stdin);
  }
  if (operator_list->parsed()) {
    return portico::app::RunOperatorList(admin_db);
  }
  if (operator_remove->parsed()) {
    return portico::app::RunOperatorRemove(admin_db, operator_name);
  }
  if (user_add->parsed()) {
    return portico::app::RunUserAdd(admin_db, user_opts, false);
  }
  if (user_list->parsed()) {
    return portico::app::RunUserList(admin_db);
  }
  if (user_remove->parsed()) {
    return portico::app::RunUserRemove(admin_db, remove_user);
  }
  if (user_pw->parsed()) {
    return portico::app::RunUserAdd(admin_db, pw_opts, true);
  }
  if (token->parsed()) {
    return portico::app::RunTokenIssue(admin_db, token_base, token_scope, token_ttl);
  }
  if (keys_rotate->parsed()) {
    return portico::app::RunKeysRotate(admin_db);
  }
  CLI::App* active = serve->parsed()     ? serve
                     : import->parsed()  ? import
                     : migrate->parsed() ? migrate
                                         : generate;
  auto given = [&](const char* name) {
    CLI::Option* o = active->get_option_no_throw(name);
    return o != nullptr && o->count() > 0;
  };
  if (given("--db")) {
    config.db = flags.db;
  }
  if (given("--listen")) {
    config.listen = flags.listen;
  }
  if (given("--base-url")) {
    config.base_url = flags.base_url;
  }
  if (given("--threads")) {
    config.threads = flags.threads;
  }
  if (given("--access-log")) {
    config.access_log = flags.access_log;
  }
  if (given("--tls-cert")) {
    config.tls_cert = flags.tls_cert;
  }
  if (given("--tls-key")) {
    config.tls_key = flags.tls_key;
  }
  if (given("--max-count")) {
    config.max_count = flags.max_count;
  }
  if (given("--db-read-url")) {
    config.db_read_url = flags.db_read_url;
  }
  if (given("--db-pool-size")) {
    config.db_pool_size = flags.db_pool_size;
  }
  if (given("--db-statement-timeout-ms")) {
    config.db_statement_timeout_ms = flags.db_statement_timeout_ms;
  }
  if (given("--dynamic-registration")) {
    config.dynamic_registration = flags.dynamic_registration;
  }
  if (given("--verbose")) {
    config.verbose = flags.verbose;
  }

  if (serve->parsed()) {
    return portico::app::RunServe(config);
  }
  if (import->parsed()) {
    return portico::app::RunImport(config, paths, !no_validate, profile_check);
  }
  if (migrate->parsed()) {
    return portico::app::RunMigrate(config);
  }
  return portico::app::RunGenerate(members, seed, out);
}
