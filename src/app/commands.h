// The subcommands of the `portico` binary.
#pragma once

#include <string>
#include <vector>

#include "src/app/config.h"

namespace portico::app {

int RunServe(const Config& config);
int RunImport(const Config& config, const std::vector<std::string>& paths, bool validate);
int RunGenerate(int members, uint64_t seed, const std::string& out_path);

}  // namespace portico::app
