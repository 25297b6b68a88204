#include "src/app/config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico::app {
namespace {

TEST(ConfigTest, ReadsTopLevelKeysAndSections) {
  Config c;
  Status s = LoadConfigString(
      "listen = \"0.0.0.0:9000\"\nrate_limit_fhir_per_ip = 5\n"
      "trusted_proxies = [\"10.0.0.0/8\"]\n"
      "[database]\nurl = \"postgresql://p@db:5432/x\"\npool_size = 12\n"
      "[fhir]\nmax_count = 500\n",
      "test.toml", c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.db, "postgresql://p@db:5432/x");
  EXPECT_EQ(c.db_pool_size, 12);
  EXPECT_EQ(c.max_count, 500);
  EXPECT_DOUBLE_EQ(c.rate_limit_fhir_per_ip, 5);
  ASSERT_EQ(c.trusted_proxies.size(), 1u);
}

TEST(ConfigTest, RefusesUnknownKeysNamingThemAndTheirLine) {
  Config c;
  Status s = LoadConfigString("listen = \"127.0.0.1:1\"\nacess_token_seconds = 60\n", "a.toml", c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "config a.toml:2: unknown key 'acess_token_seconds'");
  s = LoadConfigString("[database]\npoolsize = 4\n", "b.toml", c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "config b.toml:2: unknown key 'database.poolsize'");
  s = LoadConfigString("[tls]\ncert = \"x\"\n", "c.toml", c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown key 'tls'"), std::string::npos) << s.message();
}

TEST(ConfigTest, RefusesValuesOfTheWrongType) {
  Config c;
  for (const char* text :
       {"pool_size = \"8\"", "access_log = 1", "listen = 8080", "trusted_proxies = \"10.0.0.1\"",
        "trusted_proxies = [1]", "max_count = 2.5"}) {
    Status s = LoadConfigString(text, "t.toml", c);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("must be"), std::string::npos) << s.message();
  }
  // A rate is a number: an integer will do.
  EXPECT_TRUE(LoadConfigString("rate_limit_token_per_ip = 3", "t.toml", c).ok());
}

// The key a line `key = value` sets ("" when the line is something else).
std::string KeyOf(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && (std::islower(static_cast<unsigned char>(line[n])) || line[n] == '_')) {
    ++n;
  }
  size_t eq = line.find_first_not_of(' ', n);
  return n > 0 && eq != std::string::npos && line[eq] == '=' ? line.substr(0, n) : "";
}

// The example config loads as shipped, and with every key it shows commented out set: it names
// no key the server would refuse.
TEST(ConfigTest, TheExampleConfigLoadsAsIsAndWithEveryKeySet) {
  const char* dir = std::getenv("PORTICO_SOURCE_DIR");
  std::string path = std::string(dir != nullptr ? dir : ".") + "/packaging/portico.toml";
  Config c;
  Status s = LoadConfigFile(path, c);
  ASSERT_TRUE(s.ok()) << s.message();
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::set<std::string> set_keys;  // keys the file sets already (an alternative is commented)
  for (std::string line; std::getline(in, line);) {
    if (std::string key = KeyOf(line); !key.empty()) {
      set_keys.insert(key);
    }
    lines.push_back(line);
  }
  std::string all;
  int uncommented = 0;
  for (std::string& line : lines) {
    if (line.rfind("#", 0) == 0) {
      std::string rest = line.substr(line.rfind("# ", 0) == 0 ? 2 : 1);
      if (std::string key = KeyOf(rest); !key.empty() && set_keys.insert(key).second) {
        line = rest;
        ++uncommented;
      }
    }
    all += line + "\n";
  }
  EXPECT_GE(uncommented, 20);
  s = LoadConfigString(all, "portico.toml (every key set)", c);
  EXPECT_TRUE(s.ok()) << s.message();
}

}  // namespace
}  // namespace portico::app
