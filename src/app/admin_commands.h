// Operator commands for clients, operators, users and signing keys.
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
  // Registration fields (RFC 7591 names): validated like the operator API's.
  std::string client_uri;
  std::string policy_uri;
  std::string tos_uri;
  std::string logo_uri;
  std::vector<std::string> contacts;
  std::vector<std::string> attest;  // "question=yes|no", see oauth::AttestationQuestions()
  bool pending = false;             // register as pending (not usable until activated)
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
// Sets a client's status to suspended (`active` false) or active.
int RunClientSetStatus(const std::string& db, const std::string& client_id, bool active);
int RunOperatorAdd(const std::string& db, const std::string& username, bool password_stdin);
int RunOperatorList(const std::string& db);
int RunOperatorRemove(const std::string& db, const std::string& username);
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
