// FHIR search parameters: the query string or POST _search form body of a search, parsed by
// fhir::ParseSearch over the built-in registry, the granular-scope conditions of
// fhir::ParseCondition, keyset cursors (DecodeCursor), and the SQL that store::sql::SqlBuilder
// builds from the parsed conditions for both dialects.
//
// Input: line 1 = resource type (an unknown type is mapped onto a searchable one), line 2 =
// flags ('s' strict, 'b' base URL set), rest = the query string.
// Invariants: the canonical query string of a parsed search re-parses to the same canonical
// string; an encoded cursor decodes to itself; built SQL has balanced single quotes (values are
// bound parameters, never literals).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "src/fhir/search/query_parser.h"
#include "src/fhir/search/registry.h"
#include "src/http/message.h"
#include "src/store/sql/search_sql.h"
#include "tests/fuzz/fuzz_util.h"

namespace fhir = portico::fhir;
namespace sql = portico::store::sql;

namespace {

const fhir::SearchParamRegistry& Registry() {
  static const std::shared_ptr<const fhir::SearchParamRegistry> registry = [] {
    auto r = fhir::SearchParamRegistry::LoadBuiltin();
    if (!r.ok()) portico::fuzz::Fail("LoadBuiltin", r.status().message());
    return *r;
  }();
  return *registry;
}

void CheckSql(const fhir::SearchCondition& c, const std::string& type) {
  for (sql::Dialect d : {sql::Dialect::kSqlite, sql::Dialect::kPostgres}) {
    for (bool correlated : {true, false}) {
      sql::SqlBuilder b(d);
      std::string text;
      fhir::AccessScope scope;
      if (!b.Condition(c, type, "r", scope, text, correlated).ok()) {
        continue;
      }
      size_t quotes = 0;
      for (char ch : text) quotes += ch == '\'';
      FUZZ_CHECK(quotes % 2 == 0, text);
      FUZZ_CHECK(text.find('\0') == std::string::npos, text);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fhir::SearchParamRegistry& registry = Registry();
  auto f = portico::fuzz::Fields(portico::fuzz::AsView(data, size), 3);
  std::string type(f[0]);
  if (!registry.IsResourceType(type)) {
    static const std::vector<std::string> types = registry.SearchableTypes();
    size_t h = std::hash<std::string>{}(type);
    type = types[h % types.size()];
  }
  fhir::SearchOptions options;
  options.strict = f[1].find('s') != std::string_view::npos;
  if (f[1].find('b') != std::string_view::npos) {
    options.base_url = "http://localhost:8080/fhir";
  }
  fhir::QueryPairs pairs;
  if (!portico::http::ParseFormEncoded(f[2], pairs)) {
    return 0;
  }
  auto parsed = fhir::ParseSearch(registry, type, pairs, options);
  if (parsed.ok()) {
    const fhir::SearchQuery& q = parsed->query;
    fhir::QueryPairs again_pairs;
    FUZZ_CHECK(portico::http::ParseFormEncoded(q.canonical, again_pairs), q.canonical);
    auto again = fhir::ParseSearch(registry, type, again_pairs, options);
    FUZZ_CHECK(again.ok(), q.canonical + "\n" + std::string(again.status().message()));
    FUZZ_CHECK(again->query.canonical == q.canonical,
               q.canonical + "\n" + again->query.canonical);
    for (const fhir::SearchCondition& c : q.conditions) {
      CheckSql(c, type);
    }
    if (!parsed->cursor.empty()) {
      fhir::PageCursor cursor;
      if (fhir::DecodeCursor(parsed->cursor, q.sort.size(), cursor)) {
        std::string enc = fhir::EncodeCursor(cursor);
        fhir::PageCursor back;
        FUZZ_CHECK(fhir::DecodeCursor(enc, q.sort.size(), back), enc);
        FUZZ_CHECK(back.backward == cursor.backward && back.seq == cursor.seq &&
                       back.values == cursor.values,
                   enc);
      }
    }
  }
  // Granular scope filters ("patient/Observation.rs?category=laboratory") go through
  // ParseCondition one pair at a time.
  for (const auto& [k, v] : pairs) {
    auto c = fhir::ParseCondition(registry, type, k, v, options);
    if (c.ok()) {
      CheckSql(*c, type);
    }
  }
  return 0;
}
