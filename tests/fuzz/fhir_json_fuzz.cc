// FHIR JSON from outside: resources given to create/update and $validate, import files (single
// resources, Bundles, NDJSON: fhir::Importer's collection pass) and $member-match Parameters
// bodies. Runs the structural validator (fhir::ValidateResource), resource checks and
// preparation, search index extraction, Importer::Keys, and the $member-match and $validate
// operations against a small SQLite store (a temp file holding one Patient and one Coverage).
//
// Invariants: PrepareResource/RenderStored output re-parses, keeps the id and type, and prepares
// to the same content hash; the validator reports at most max_issues issues; Importer::QuickKeys
// gives Importer::Keys's keys for content that Keys accepts.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "src/base/time.h"
#include "src/fhir/model/resource.h"
#include "src/fhir/model/validator.h"
#include "src/fhir/rest/importer.h"
#include "src/fhir/rest/operations.h"
#include "src/fhir/search/indexer.h"
#include "src/fhir/search/registry.h"
#include "src/json/json.h"
#include "src/store/sqlite/sqlite_store.h"
#include "tests/fuzz/fuzz_util.h"

namespace fhir = portico::fhir;
namespace json = portico::json;

namespace {

class FixedClock : public portico::base::Clock {
 public:
  portico::base::Millis NowMillis() const override { return 1717243200000; }  // 2024-06-01
};

constexpr std::string_view kSeedData = R"({"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Shaw","given":["Amy"]}],
 "gender":"female","birthDate":"1987-02-20"}},
{"resource":{"resourceType":"Coverage","id":"c1","status":"active",
 "identifier":[{"system":"http://example.org/member","value":"M123"}],
 "beneficiary":{"reference":"Patient/p1"},"payor":[{"reference":"Organization/o1"}]}}]})";

struct Env {
  FixedClock clock;
  std::string dir;
  std::shared_ptr<const fhir::SearchParamRegistry> registry;
  std::shared_ptr<const fhir::ElementModel> model;
  std::unique_ptr<portico::store::sqlite::SqliteStore> store;
  std::unique_ptr<fhir::Importer> importer;
  std::unique_ptr<fhir::Operations> operations;
};

Env& GetEnv() {
  static Env* env = [] {
    auto* e = new Env;
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    auto model = fhir::ElementModel::LoadBuiltin();
    if (!reg.ok() || !model.ok()) portico::fuzz::Fail("builtin data");
    e->registry = *reg;
    e->model = *model;
    std::string tmpl = (std::filesystem::temp_directory_path() / "portico-fuzz-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) portico::fuzz::Fail("mkdtemp");
    e->dir = tmpl;
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(GetEnv().dir, ec); });
    auto store = portico::store::sqlite::SqliteStore::Open(e->dir + "/fuzz.db", e->registry,
                                                           e->clock);
    if (!store.ok()) portico::fuzz::Fail("SqliteStore::Open", store.status().message());
    e->store = std::move(*store);
    std::shared_ptr<const fhir::ElementModel> m = e->model;
    e->importer = std::make_unique<fhir::Importer>(
        *e->store, e->registry, [m](const json::Value& r) {
          std::vector<std::string> out;
          for (const fhir::ValidationIssue& i : fhir::ValidateResource(*m, r)) {
            out.push_back(i.path + ": " + i.message);
          }
          return out;
        });
    fhir::ImportCounts counts;
    std::vector<fhir::ImportError> errors;
    if (!e->importer->ImportContent("seed", kSeedData, counts, errors)) {
      portico::fuzz::Fail("seed import", errors.empty() ? "" : errors[0].message);
    }
    e->operations = std::make_unique<fhir::Operations>(
        *e->store, e->registry, "http://localhost:8080/fhir", 50, "fuzz-paging-secret", e->clock);
    return e;
  }();
  return *env;
}

void CheckResource(Env& env, const json::Value& v) {
  auto issues = fhir::ValidateResource(*env.model, v, 20);
  FUZZ_CHECK(issues.size() <= 20, json::Serialize(v));
  auto type = fhir::CheckResource(v, *env.registry);
  if (!type.ok() || !issues.empty()) {
    return;  // the server stores only resources that pass both checks
  }
  (void)fhir::ExtractIndex(*env.registry, *type, v);
  std::string id(v.GetString("id"));
  if (id.empty()) id = "fuzz";
  fhir::PreparedResource p = fhir::PrepareResource(v, *type, id);
  std::string stored = fhir::RenderStored(p, 3, 1717243200123);
  auto back = json::Parse(stored);
  FUZZ_CHECK(back.ok(), stored);
  FUZZ_CHECK(back->GetString("id") == id && back->GetString("resourceType") == *type, stored);
  fhir::PreparedResource again = fhir::PrepareResource(*back, *type, id);
  FUZZ_CHECK(again.content_hash == p.content_hash, stored);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& env = GetEnv();
  std::string_view in = portico::fuzz::AsView(data, size);
  auto v = json::Parse(in);
  if (v.ok()) {
    CheckResource(env, *v);
    // Resources nested in a Bundle or Parameters are validated recursively by the validator;
    // check the preparation path on them too.
    for (const char* list : {"entry", "parameter"}) {
      if (const json::Value* items = v->Find(list); items != nullptr && items->is_array()) {
        for (const json::Value& item : items->array()) {
          if (const json::Value* r = item.Find("resource"); r != nullptr) {
            CheckResource(env, *r);
          }
        }
      }
    }
  }
  // The first pass's shortcut: for content that loads, its keys are the parser's.
  std::vector<std::string> keys = env.importer->Keys(in);
  if (auto quick = fhir::Importer::QuickKeys(in); quick.has_value() && !keys.empty()) {
    FUZZ_CHECK(*quick == keys, std::string(in));
  }

  portico::http::Request req;
  req.method = "POST";
  req.headers.emplace_back("content-type", "application/fhir+json");
  req.body = std::string(in);
  fhir::AccessScope all;
  req.path = "/fhir/Patient/$member-match";
  (void)env.operations->Handle(req, "Patient", "", "$member-match", {}, all);
  if (v.ok() && v->is_object()) {
    std::string type(v->GetString("resourceType"));
    if (type == "Parameters" || !env.registry->IsResourceType(type)) {
      type = "Patient";
    }
    req.path = "/fhir/" + type + "/$validate";
    (void)env.operations->Handle(req, type, "", "$validate", {}, all);
  }
  return 0;
}
