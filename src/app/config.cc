#include "src/app/config.h"

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "src/base/strings.h"

namespace portico::app {

namespace {

enum class KeyType { kString, kInteger, kNumber, kBool, kStringList };

// One config key: the type its value must have and where it goes. Values reach `set` only
// after their type was checked.
struct Key {
  std::string_view name;
  KeyType type;
  std::function<void(const toml::node& value, Config& c)> set;
};

Key Text(std::string_view name, std::string Config::*field) {
  return {name, KeyType::kString,
          [field](const toml::node& v, Config& c) { c.*field = *v.value<std::string>(); }};
}

Key Flag(std::string_view name, bool Config::*field) {
  return {name, KeyType::kBool,
          [field](const toml::node& v, Config& c) { c.*field = *v.value<bool>(); }};
}

// Integers are read with value_exact<int64_t>(): toml++'s value<int64_t>() converts a float
// such as 1e20 with an out-of-range cast (undefined behaviour; found by toml_fuzz).
Key Integer(std::string_view name, int Config::*field) {
  return {name, KeyType::kInteger, [field](const toml::node& v, Config& c) {
            c.*field = static_cast<int>(*v.value_exact<int64_t>());
          }};
}

// A per-browser, per-app or per-member limit: 0 (no limit) to 1,000,000.
Key Limit(std::string_view name, int Config::*field) {
  return {name, KeyType::kInteger, [field](const toml::node& v, Config& c) {
            c.*field = static_cast<int>(std::clamp<int64_t>(*v.value_exact<int64_t>(), 0, 1000000));
          }};
}

Key Rate(std::string_view name, double Config::*field) {
  return {name, KeyType::kNumber,
          [field](const toml::node& v, Config& c) { c.*field = *v.value<double>(); }};
}

// Every key the config file may set.
const std::vector<Key>& Keys() {
  static const auto* keys = new std::vector<Key>{
      Text("db", &Config::db),
      Text("url", &Config::db),
      Text("listen", &Config::listen),
      Text("base_url", &Config::base_url),
      Integer("threads", &Config::threads),
      Flag("access_log", &Config::access_log),
      Integer("default_count", &Config::default_count),
      Integer("max_count", &Config::max_count),
      {"max_body_bytes", KeyType::kInteger,
       [](const toml::node& v, Config& c) { c.max_body_bytes = *v.value_exact<int64_t>(); }},
      Text("paging_secret", &Config::paging_secret),
      Text("metrics_token", &Config::metrics_token),
      Text("tls_cert", &Config::tls_cert),
      Text("tls_key", &Config::tls_key),
      Text("read_url", &Config::db_read_url),
      Integer("pool_size", &Config::db_pool_size),
      Integer("connect_timeout_seconds", &Config::db_connect_timeout_seconds),
      Integer("acquire_timeout_ms", &Config::db_acquire_timeout_ms),
      Integer("statement_timeout_ms", &Config::db_statement_timeout_ms),
      Flag("prepared_statements", &Config::db_prepared_statements),
      Integer("access_token_seconds", &Config::access_token_seconds),
      Integer("code_seconds", &Config::code_seconds),
      Integer("refresh_days", &Config::refresh_days),
      Text("dynamic_registration", &Config::dynamic_registration),
      Limit("max_auth_requests_per_session", &Config::max_auth_requests_per_session),
      Limit("max_auth_requests_per_client", &Config::max_auth_requests_per_client),
      Limit("max_codes_per_user", &Config::max_codes_per_user),
      Limit("max_grants_per_user_client", &Config::max_grants_per_user_client),
      Rate("rate_limit_fhir_per_ip", &Config::rate_limit_fhir_per_ip),
      Rate("rate_limit_token_per_ip", &Config::rate_limit_token_per_ip),
      Rate("rate_limit_token_per_client", &Config::rate_limit_token_per_client),
      Rate("rate_limit_register_per_ip", &Config::rate_limit_register_per_ip),
      {"trusted_proxies", KeyType::kStringList,
       [](const toml::node& v, Config& c) {
         c.trusted_proxies.clear();
         for (const toml::node& p : *v.as_array()) {
           c.trusted_proxies.push_back(*p.value<std::string>());
         }
       }},
      Integer("header_timeout_seconds", &Config::header_timeout_seconds),
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

bool IsSection(std::string_view name) {
  return name == "server" || name == "database" || name == "fhir";
}

// Applies the keys of one table (the top level, or one of its sections). A key the server does
// not know (a typo, or a key of another version) or a value of the wrong type would otherwise be
// ignored without a word, and the server would run on a default the operator meant to change:
// both are refused, naming the key, and nothing of the file is applied.
Status ApplyTable(const toml::table& tbl, const std::string& source, std::string_view section,
                  Config& config) {
  for (const auto& [key, value] : tbl) {
    std::string_view name = key.str();
    if (section.empty() && IsSection(name) && value.is_table()) {
      continue;  // applied after the top level, so its keys win
    }
    std::string where =
        section.empty() ? std::string(name) : std::string(section) + "." + std::string(name);
    const std::vector<Key>& keys = Keys();
    auto it = std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
    std::string line = "config " + source + ":" + std::to_string(value.source().begin.line);
    if (it == keys.end()) {
      return InvalidArgumentError(line + ": unknown key '" + where + "'");
    }
    if (!HasType(value, it->type)) {
      return InvalidArgumentError(line + ": '" + where + "' must be " + TypeName(it->type));
    }
    it->set(value, config);
  }
  return Status::Ok();
}

Status ReadConfig(const toml::table& tbl, const std::string& source, Config& config) {
  Config read = config;
  RETURN_IF_ERROR(ApplyTable(tbl, source, "", read));
  for (const char* section : {"server", "database", "fhir"}) {
    if (const toml::table* t = tbl[section].as_table()) {
      RETURN_IF_ERROR(ApplyTable(*t, source, section, read));
    }
  }
  config = std::move(read);
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
