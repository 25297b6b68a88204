#include "src/app/stores.h"

#include "src/app/config.h"
#include "src/json/json.h"
#include "src/store/sqlite/sqlite_auth_store.h"
#include "src/store/sqlite/sqlite_store.h"

namespace portico::app {

StatusOr<std::unique_ptr<Stores>> OpenStores(const std::string& db, const base::Clock& clock) {
  ASSIGN_OR_RETURN(std::string path, SqlitePath(db));
  auto out = std::make_unique<Stores>();
  ASSIGN_OR_RETURN(out->registry, fhir::SearchParamRegistry::LoadBuiltin());
  ASSIGN_OR_RETURN(auto sqlite, store::sqlite::SqliteStore::Open(path, out->registry, clock));
  ASSIGN_OR_RETURN(auto auth, store::sqlite::SqliteAuthStore::Open(*sqlite));
  out->auth = std::move(auth);
  out->resources = std::move(sqlite);
  return out;
}

std::string PatientLabel(store::ResourceStore& resources, const std::string& patient_id) {
  auto r = resources.Read("Patient", patient_id);
  if (!r.ok() || !r->has_value() || (*r)->deleted) {
    return "member " + patient_id;
  }
  auto v = json::Parse((*r)->body);
  if (!v.ok()) {
    return "member " + patient_id;
  }
  std::string name;
  if (const json::Value* names = v->Find("name"); names != nullptr && names->is_array() &&
                                                   !names->array().empty()) {
    const json::Value& n = names->array()[0];
    if (!n.GetString("text").empty()) {
      name = std::string(n.GetString("text"));
    } else {
      if (const json::Value* given = n.Find("given"); given != nullptr && given->is_array()) {
        for (const json::Value& g : given->array()) {
          if (g.is_string()) {
            name += g.str() + " ";
          }
        }
      }
      name += std::string(n.GetString("family"));
    }
  }
  if (name.empty()) {
    name = "member " + patient_id;
  }
  std::string_view birth = v->GetString("birthDate");
  if (!birth.empty()) {
    name += ", born " + std::string(birth);
  }
  return name;
}

}  // namespace portico::app
