// Operator commands for clients, users and signing keys.
#pragma once

#include <string>
#include <vector>

namespace portico::app {

struct ClientAddOptions {
  std::string client_id;
  std::vector<std::string> redirect_uris;
  std::string name;
  bool secret_stdin = false;
  bool is_public = false;
  std::string jwks_url;
  std::string jwks_file;
  std::string scope;
};

struct UserAddOptions {
  std::string username;
  bool password_stdin = false;
  std::string patient;
  std::vector<std::string> represents;
  std::string fhir_user;
};

int RunClientAdd(const std::string& db, const ClientAddOptions& options);
int RunClientList(const std::string& db);
int RunClientRemove(const std::string& db, const std::string& client_id);
int RunUserAdd(const std::string& db, const UserAddOptions& options, bool set_password_only);
int RunUserList(const std::string& db);
int RunUserRemove(const std::string& db, const std::string& username);
int RunKeysRotate(const std::string& db);

}  // namespace portico::app

namespace portico::app {

// Mints an access token for operators (system/ scopes, no patient), signed with the server's
// current key. `base_url` must be the server's public base URL (its issuer).
int RunTokenIssue(const std::string& db, const std::string& base_url, const std::string& scope,
                  int ttl_seconds);

}  // namespace portico::app
