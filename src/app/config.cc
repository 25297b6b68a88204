#include "src/app/config.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "src/base/strings.h"

namespace portico::app {

namespace {

template <typename T>
void Get(const toml::node_view<toml::node>& node, T& out) {
  if (auto v = node.value<T>()) {
    out = *v;
  }
}

// Integer keys use value_exact<int64_t>(): toml++'s value<int64_t>() converts a float such as
// 1e20 with an out-of-range cast (undefined behaviour; found by toml_fuzz).
void ReadTable(const toml::node_view<toml::node>& t, Config& c) {
  Get(t["db"], c.db);
  Get(t["url"], c.db);
  Get(t["listen"], c.listen);
  Get(t["base_url"], c.base_url);
  if (auto v = t["threads"].value_exact<int64_t>()) {
    c.threads = static_cast<int>(*v);
  }
  Get(t["access_log"], c.access_log);
  if (auto v = t["default_count"].value_exact<int64_t>()) {
    c.default_count = static_cast<int>(*v);
  }
  if (auto v = t["max_count"].value_exact<int64_t>()) {
    c.max_count = static_cast<int>(*v);
  }
  if (auto v = t["max_body_bytes"].value_exact<int64_t>()) {
    c.max_body_bytes = *v;
  }
  Get(t["paging_secret"], c.paging_secret);
  Get(t["metrics_token"], c.metrics_token);
  Get(t["tls_cert"], c.tls_cert);
  Get(t["tls_key"], c.tls_key);
  Get(t["read_url"], c.db_read_url);
  if (auto v = t["pool_size"].value_exact<int64_t>()) {
    c.db_pool_size = static_cast<int>(*v);
  }
  if (auto v = t["connect_timeout_seconds"].value_exact<int64_t>()) {
    c.db_connect_timeout_seconds = static_cast<int>(*v);
  }
  if (auto v = t["acquire_timeout_ms"].value_exact<int64_t>()) {
    c.db_acquire_timeout_ms = static_cast<int>(*v);
  }
  if (auto v = t["statement_timeout_ms"].value_exact<int64_t>()) {
    c.db_statement_timeout_ms = static_cast<int>(*v);
  }
  Get(t["prepared_statements"], c.db_prepared_statements);
  if (auto v = t["access_token_seconds"].value_exact<int64_t>()) {
    c.access_token_seconds = static_cast<int>(*v);
  }
  if (auto v = t["code_seconds"].value_exact<int64_t>()) {
    c.code_seconds = static_cast<int>(*v);
  }
  if (auto v = t["refresh_days"].value_exact<int64_t>()) {
    c.refresh_days = static_cast<int>(*v);
  }
  Get(t["dynamic_registration"], c.dynamic_registration);
  for (auto [key, field] :
       {std::pair{"max_auth_requests_per_session", &c.max_auth_requests_per_session},
        std::pair{"max_auth_requests_per_client", &c.max_auth_requests_per_client},
        std::pair{"max_codes_per_user", &c.max_codes_per_user},
        std::pair{"max_grants_per_user_client", &c.max_grants_per_user_client}}) {
    if (auto v = t[key].value_exact<int64_t>()) {
      *field = static_cast<int>(std::clamp<int64_t>(*v, 0, 1000000));  // 0 = no limit
    }
  }
  for (const char* key : {"rate_limit_fhir_per_ip", "rate_limit_token_per_ip",
                          "rate_limit_token_per_client", "rate_limit_register_per_ip"}) {
    std::string_view k(key);
    double* field = k == "rate_limit_fhir_per_ip"       ? &c.rate_limit_fhir_per_ip
                    : k == "rate_limit_token_per_ip"    ? &c.rate_limit_token_per_ip
                    : k == "rate_limit_register_per_ip" ? &c.rate_limit_register_per_ip
                                                        : &c.rate_limit_token_per_client;
    if (auto v = t[key].value<double>()) {
      *field = *v;
    }
  }
  if (const toml::array* proxies = t["trusted_proxies"].as_array()) {
    c.trusted_proxies.clear();
    for (const auto& p : *proxies) {
      if (auto s = p.value<std::string>()) {
        c.trusted_proxies.push_back(*s);
      }
    }
  }
  if (auto v = t["header_timeout_seconds"].value_exact<int64_t>()) {
    c.header_timeout_seconds = static_cast<int>(*v);
  }
}

enum class KeyType { kString, kInteger, kNumber, kBool, kStringList };

// Every key ReadTable reads, and the type its value must have.
const std::vector<std::pair<std::string_view, KeyType>>& KnownKeys() {
  static const auto* keys = new std::vector<std::pair<std::string_view, KeyType>>{
      {"db", KeyType::kString},
      {"url", KeyType::kString},
      {"listen", KeyType::kString},
      {"base_url", KeyType::kString},
      {"threads", KeyType::kInteger},
      {"access_log", KeyType::kBool},
      {"default_count", KeyType::kInteger},
      {"max_count", KeyType::kInteger},
      {"max_body_bytes", KeyType::kInteger},
      {"paging_secret", KeyType::kString},
      {"metrics_token", KeyType::kString},
      {"tls_cert", KeyType::kString},
      {"tls_key", KeyType::kString},
      {"read_url", KeyType::kString},
      {"pool_size", KeyType::kInteger},
      {"connect_timeout_seconds", KeyType::kInteger},
      {"acquire_timeout_ms", KeyType::kInteger},
      {"statement_timeout_ms", KeyType::kInteger},
      {"prepared_statements", KeyType::kBool},
      {"access_token_seconds", KeyType::kInteger},
      {"code_seconds", KeyType::kInteger},
      {"refresh_days", KeyType::kInteger},
      {"dynamic_registration", KeyType::kString},
      {"max_auth_requests_per_session", KeyType::kInteger},
      {"max_auth_requests_per_client", KeyType::kInteger},
      {"max_codes_per_user", KeyType::kInteger},
      {"max_grants_per_user_client", KeyType::kInteger},
      {"rate_limit_fhir_per_ip", KeyType::kNumber},
      {"rate_limit_token_per_ip", KeyType::kNumber},
      {"rate_limit_token_per_client", KeyType::kNumber},
      {"rate_limit_register_per_ip", KeyType::kNumber},
      {"trusted_proxies", KeyType::kStringList},
      {"header_timeout_seconds", KeyType::kInteger},
  };
  return *keys;
}

bool HasType(const toml::node& value, KeyType type) {
  switch (type) {
    case KeyType::kString:
      return value.is_string();
    case KeyType::kInteger:
      return value.is_integer();
    case KeyType::kNumber:
      return value.is_integer() || value.is_floating_point();
    case KeyType::kBool:
      return value.is_boolean();
    case KeyType::kStringList: {
      const toml::array* a = value.as_array();
      return a != nullptr &&
             std::all_of(a->begin(), a->end(), [](const toml::node& n) { return n.is_string(); });
    }
  }
  return false;
}

const char* TypeName(KeyType type) {
  switch (type) {
    case KeyType::kString:
      return "a string";
    case KeyType::kInteger:
      return "an integer";
    case KeyType::kNumber:
      return "a number";
    case KeyType::kBool:
      return "true or false";
    case KeyType::kStringList:
      return "a list of strings";
  }
  return "a value";
}

// A key the server does not know (a typo, or a key of another version) or a value of the wrong
// type would otherwise be ignored without a word, and the server would run on a default the
// operator meant to change: both are refused, naming the key.
Status CheckKeys(const toml::table& tbl, const std::string& source, std::string_view section) {
  for (const auto& [key, value] : tbl) {
    std::string_view name = key.str();
    std::string where =
        section.empty() ? std::string(name) : std::string(section) + "." + std::string(name);
    if (section.empty() && (name == "server" || name == "database" || name == "fhir") &&
        value.is_table()) {
      RETURN_IF_ERROR(CheckKeys(*value.as_table(), source, name));
      continue;
    }
    const auto& known = KnownKeys();
    auto it =
        std::find_if(known.begin(), known.end(), [&](const auto& k) { return k.first == name; });
    if (it == known.end()) {
      return InvalidArgumentError("config " + source + ":" +
                                  std::to_string(value.source().begin.line) + ": unknown key '" +
                                  where + "'");
    }
    if (!HasType(value, it->second)) {
      return InvalidArgumentError("config " + source + ":" +
                                  std::to_string(value.source().begin.line) + ": '" + where +
                                  "' must be " + TypeName(it->second));
    }
  }
  return Status::Ok();
}

Status ReadConfig(toml::table& tbl, const std::string& source, Config& config) {
  RETURN_IF_ERROR(CheckKeys(tbl, source, ""));
  toml::node_view<toml::node> root{tbl};
  ReadTable(root, config);
  for (const char* section : {"server", "database", "fhir"}) {
    if (tbl.contains(section)) {
      ReadTable(root[section], config);
    }
  }
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, Config& config) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return InvalidArgumentError("config " + path + ":" + std::to_string(err.source().begin.line) +
                                ": " + std::string(err.description()));
  }
  return ReadConfig(tbl, path, config);
}

Status LoadConfigString(std::string_view text, const std::string& source, Config& config) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, source);
  } catch (const toml::parse_error& err) {
    return InvalidArgumentError("config " + source + ":" + std::to_string(err.source().begin.line) +
                                ": " + std::string(err.description()));
  }
  return ReadConfig(tbl, source, config);
}

Status ParseListen(const std::string& listen, std::string& host, uint16_t& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("--listen must be HOST:PORT, got '" + listen + "'");
  }
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto p = base::ParseInt(listen.substr(colon + 1));
  if (!p || *p < 0 || *p > 65535 || host.empty()) {
    return InvalidArgumentError("--listen must be HOST:PORT, got '" + listen + "'");
  }
  port = static_cast<uint16_t>(*p);
  return Status::Ok();
}

StatusOr<std::string> SqlitePath(const std::string& db) {
  if (base::StartsWith(db, "sqlite:")) {
    std::string path = db.substr(7);
    if (base::StartsWith(path, "//")) {
      path = path.substr(2);
    }
    if (path.empty()) {
      return InvalidArgumentError("--db sqlite:PATH needs a path");
    }
    return path;
  }
  if (IsPostgresUrl(db)) {
    return InvalidArgumentError("this command needs --db sqlite:PATH");
  }
  // Not echoed: a mistyped URL may carry a password.
  return InvalidArgumentError("--db must be sqlite:PATH or postgresql://USER@HOST:PORT/DB");
}

bool IsPostgresUrl(const std::string& db) {
  return base::StartsWith(db, "postgresql://") || base::StartsWith(db, "postgres://");
}

}  // namespace portico::app
