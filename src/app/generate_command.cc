// `portico generate`: writes the demo data set.
#include <cstdio>
#include <fstream>

#include "src/app/commands.h"
#include "src/app/demo_data.h"

namespace portico::app {

int RunGenerate(int members, uint64_t seed, const std::string& out_path) {
  if (members < 0) {
    std::fprintf(stderr, "portico generate: --members must be >= 0\n");
    return 2;
  }
  DemoOptions options;
  options.members = members;
  options.seed = seed;
  std::vector<DemoResource> resources = GenerateDemoData(options);
  std::string ndjson = ToNdjson(resources);
  if (out_path.empty()) {
    std::fwrite(ndjson.data(), 1, ndjson.size(), stdout);
    return 0;
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(ndjson.data(), static_cast<std::streamsize>(ndjson.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "portico generate: cannot write %s\n", out_path.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %zu resources for %d members to %s\n", resources.size(), members,
               out_path.c_str());
  return 0;
}

}  // namespace portico::app
