// `portico`: the CMS Patient Access API server and its operator commands.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "src/app/commands.h"
#include "src/app/config.h"

namespace {

constexpr const char* kDescription =
    "Portico: a CMS Patient Access API server (FHIR R4 resource server for CARIN Blue Button, US "
    "Core, PDex and HRex).";

}  // namespace

int main(int argc, char** argv) {
  using portico::app::Config;
  CLI::App app{kDescription, "portico"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "portico 0.1.0");

  Config flags;
  std::string config_file;

  // serve
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve the FHIR API at {base}/fhir (and /healthz, /readyz).");
  serve->add_option("--db", flags.db, "Database: sqlite:PATH (default sqlite:portico.db)");
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  serve->add_option("--base-url", flags.base_url,
                    "Public base URL; the FHIR base is {base-url}/fhir (default http://HOST:PORT)");
  serve->add_option("--config", config_file, "TOML config file (flags win over its values)");
  serve->add_option("--threads", flags.threads, "I/O threads (default: number of cores)");
  serve->add_flag("--access-log", flags.access_log,
                  "Log one JSON line per request (method, status, duration; never queries, "
                  "bodies or tokens)");
  serve->add_option("--max-count", flags.max_count, "Largest _count a search may ask for (200)");

  // import
  std::vector<std::string> paths;
  bool no_validate = false;
  CLI::App* import = app.add_subcommand(
      "import",
      "Load FHIR JSON files or directories (recursively): resources, Bundles (collection, "
      "transaction, batch, searchset) and NDJSON. Each file is stored atomically; exit code 0 "
      "only when every file loaded.");
  import->add_option("--db", flags.db, "Database: sqlite:PATH (default sqlite:portico.db)");
  import->add_option("--config", config_file, "TOML config file (flags win over its values)");
  import->add_flag("--no-validate", no_validate,
                   "Skip the structural R4 validation of each resource");
  import->add_flag("--verbose", flags.verbose, "Print a line for each file once it is stored");
  import->add_option("paths", paths, "Files or directories to load")->required();

  // generate
  int members = 3;
  uint64_t seed = 42;
  std::string out;
  CLI::App* generate = app.add_subcommand(
      "generate", "Write the deterministic demo data set as NDJSON (one resource per line).");
  generate->add_option("--members", members, "Number of members (default 3)");
  generate->add_option("--seed", seed, "Seed of the synthetic members (default 42)");
  generate->add_option("--out", out, "Output file (default: standard output)");

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
  CLI::App* active = serve->parsed() ? serve : (import->parsed() ? import : generate);
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
  if (given("--max-count")) {
    config.max_count = flags.max_count;
  }
  if (given("--verbose")) {
    config.verbose = flags.verbose;
  }

  if (serve->parsed()) {
    return portico::app::RunServe(config);
  }
  if (import->parsed()) {
    return portico::app::RunImport(config, paths, !no_validate);
  }
  return portico::app::RunGenerate(members, seed, out);
}
