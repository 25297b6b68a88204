// The subcommands of the `portico` binary.
#pragma once

#include <string>
#include <vector>

#include "src/app/config.h"

namespace portico::app {

int RunServe(const Config& config);
// `profile_check`: "warn" (store, print profile findings as warnings), "reject" (a resource with a
// profile error fails its file) or "off". Unresolved references are warnings unless "off".
int RunImport(const Config& config, const std::vector<std::string>& paths, bool validate,
              const std::string& profile_check = "warn");
// `portico migrate`: applies pending schema migrations to config.db. Exit code 0 on success.
int RunMigrate(const Config& config);
int RunGenerate(int members, uint64_t seed, const std::string& out_path);

}  // namespace portico::app
