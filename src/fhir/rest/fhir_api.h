// The FHIR REST interactions of the Patient Access API (read side): metadata, read, vread,
// history, search (GET and POST) and the errors around them. Takes plain request structs; the
// caller has already authenticated the request and passes the access scope it may use.
// Thread-safe: Handle() may run concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "src/base/time.h"
#include "src/fhir/rest/operations.h"
#include "src/fhir/search/query_parser.h"
#include "src/fhir/search/registry.h"
#include "src/http/message.h"
#include "src/store/resource_store.h"

namespace portico::fhir {

struct FhirApiOptions {
  std::string base_url;  // e.g. "http://127.0.0.1:8080/fhir" (no trailing slash)
  int default_count = 20;
  int max_count = 200;
  std::string paging_secret;  // HMAC key binding paging cursors to their query
  std::string capability_extra_security;  // JSON of rest.security (filled by the auth layer)
  std::string software_version = "0.1.0";
};

class FhirApi {
 public:
  // REQUIRES: `store` and `clock` outlive this object.
  FhirApi(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
          FhirApiOptions options, const base::Clock& clock);

  // `path` is the part after the FHIR base ("" or "/metadata", "/Patient/1", ...).
  http::Response Handle(const http::Request& req, std::string_view path,
                        const AccessScope& scope);

  // The CapabilityStatement JSON (built once).
  const std::string& capability_statement() const { return capability_; }

  static http::Response Error(int status, std::string_view code, std::string_view diagnostics);
  static http::Response ErrorFor(const Status& s);

 private:
  http::Response Read(const http::Request& req, const std::string& type, const std::string& id,
                      const AccessScope& scope);
  http::Response VRead(const http::Request& req, const std::string& type, const std::string& id,
                       const std::string& vid, const AccessScope& scope);
  http::Response History(const http::Request& req, const std::string& type,
                         const std::string& id, const AccessScope& scope);
  http::Response Search(const http::Request& req, const std::string& type,
                        const QueryPairs& pairs, const AccessScope& scope);
  StatusOr<bool> Visible(const std::string& type, const std::string& id,
                         const AccessScope& scope);
  // The current version of type/id if `scope` may see it (a deleted one only for an unrestricted
  // scope); nullopt otherwise.
  StatusOr<std::optional<store::StoredResource>> ReadVisible(const std::string& type,
                                                             const std::string& id,
                                                             const AccessScope& scope);
  std::string SignCursor(const std::string& canonical, const std::string& position) const;

  store::ResourceStore& store_;
  std::shared_ptr<const SearchParamRegistry> registry_;
  FhirApiOptions options_;
  const base::Clock& clock_;
  std::string capability_;
  std::unique_ptr<Operations> operations_;
};

// Applies _summary / _elements to a stored resource body (adds the SUBSETTED tag).
std::string ApplySubset(const std::string& body, SummaryMode summary,
                        const std::vector<std::string>& elements);

}  // namespace portico::fhir
