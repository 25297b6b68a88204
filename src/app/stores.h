// Opens the stores named by a --db value (the composition root's choice of implementation).
#pragma once

#include <memory>
#include <string>

#include "src/base/status.h"
#include "src/base/time.h"
#include "src/fhir/search/registry.h"
#include "src/store/auth_store.h"
#include "src/store/resource_store.h"

namespace portico::app {

struct Stores {
  std::shared_ptr<const fhir::SearchParamRegistry> registry;
  std::unique_ptr<store::ResourceStore> resources;
  std::unique_ptr<store::AuthStore> auth;  // shares the resources' database
};

// REQUIRES: `clock` outlives the stores.
StatusOr<std::unique_ptr<Stores>> OpenStores(const std::string& db, const base::Clock& clock);

// "Ava Smith, born 2015-04-02" for the picker and consent pages ("member <id>" when unknown).
std::string PatientLabel(store::ResourceStore& resources, const std::string& patient_id);

}  // namespace portico::app
