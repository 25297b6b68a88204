// Server configuration: defaults, then a TOML file, then command-line flags (flags win).
#pragma once

#include <cstdint>
#include <string>

#include "src/base/status.h"

namespace portico::app {

struct Config {
  std::string db = "sqlite:portico.db";
  std::string listen = "127.0.0.1:8080";
  std::string base_url;  // default: http://<listen>
  int threads = 0;
  bool access_log = false;
  int default_count = 20;
  int max_count = 200;
  int64_t max_body_bytes = 16 * 1024 * 1024;
  std::string paging_secret;
  int header_timeout_seconds = 10;
  int access_token_seconds = 1800;
  int code_seconds = 60;
  int refresh_days = 120;
  bool verbose = false;
};

// Reads the keys of a TOML file into `config` (only keys present in the file are set).
// Keys: db, listen, base_url, threads, access_log, default_count, max_count, max_body_bytes,
// paging_secret; also accepted inside [server], [database] (as url) and [fhir] tables.
Status LoadConfigFile(const std::string& path, Config& config);

// Splits "host:port" ("[::1]:8080" for IPv6).
Status ParseListen(const std::string& listen, std::string& host, uint16_t& port);

// "sqlite:PATH" -> PATH. Unsupported schemes are an error that names what is supported.
StatusOr<std::string> SqlitePath(const std::string& db);

}  // namespace portico::app
