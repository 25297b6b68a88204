// FHIR operations of the Patient Access API:
//   POST [base]/Patient/$member-match      HRex 0.2.0 (payer-to-payer; system tokens only)
//   GET  [base]/Patient/[id]/$everything   the patient's compartment and what it references
//   GET  [base]/DocumentReference/$docref  US Core 3.1.1 (existing documents of a patient)
//   POST [base]/[type]/$validate           structural R4 validation of a resource, and profile
//                                          checks (meta.profile, or the `profile` parameter)
// Every operation runs inside the caller's AccessScope.
#pragma once

#include <memory>
#include <string>

#include "src/base/time.h"
#include "src/fhir/search/query_parser.h"
#include "src/fhir/search/registry.h"
#include "src/http/message.h"
#include "src/store/resource_store.h"

namespace portico::fhir {

class Operations {
 public:
  // REQUIRES: `store` and `clock` outlive this object.
  Operations(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
             std::string base_url, int max_count, std::string paging_secret,
             const base::Clock& clock);

  // `id` is "" for type-level operations; `name` includes the leading '$'.
  http::Response Handle(const http::Request& req, const std::string& type, const std::string& id,
                        const std::string& name, const QueryPairs& query,
                        const AccessScope& scope);

 private:
  http::Response MemberMatch(const http::Request& req, const AccessScope& scope);
  http::Response Everything(const http::Request& req, const std::string& id,
                            const QueryPairs& query, const AccessScope& scope);
  http::Response DocRef(const QueryPairs& query, const AccessScope& scope);
  http::Response Validate(const http::Request& req, const std::string& type,
                          const QueryPairs& query);

  store::ResourceStore& store_;
  std::shared_ptr<const SearchParamRegistry> registry_;
  std::string base_url_;
  int max_count_;
  std::string paging_secret_;
  const base::Clock& clock_;
};

}  // namespace portico::fhir
