// The TOML configuration file (--config): app::LoadConfigString (toml++ plus our key mapping)
// and the checks applied to the values it yields (ParseListen, SqlitePath, IsPostgresUrl).
// Invariant: an accepted listen address has a non-empty host.
#include <cstddef>
#include <cstdint>
#include <string>

#include "src/app/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace app = portico::app;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  app::Config config;
  if (!app::LoadConfigString(portico::fuzz::AsView(data, size), "fuzz.toml", config).ok()) {
    return 0;
  }
  std::string host;
  uint16_t port = 0;
  if (app::ParseListen(config.listen, host, port).ok()) {
    FUZZ_CHECK(!host.empty(), config.listen);
  }
  (void)app::SqlitePath(config.db);
  (void)app::IsPostgresUrl(config.db);
  (void)app::IsPostgresUrl(config.db_read_url);
  return 0;
}
