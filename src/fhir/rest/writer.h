// The write side for the payer's own systems (data feeds, SMART Backend Services tokens with
// system/ write scopes): create, update (with If-Match), conditional update on a search,
// delete (soft: a deletion version, kept in history) and transaction Bundles applied all or
// nothing. Every resource is validated against the R4 structure first. Patient-facing tokens
// never reach this class: the caller checks that the token is a system token with the right
// c/u/d scope through `allowed`.
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "src/base/time.h"
#include "src/fhir/rest/importer.h"
#include "src/fhir/search/registry.h"
#include "src/http/message.h"
#include "src/store/resource_store.h"

namespace portico::fhir {

// Whether the caller may `op` ('c', 'u' or 'd') resources of `type`.
using WritePermission = std::function<bool(const std::string& type, char op)>;

class Writer {
 public:
  // REQUIRES: `store` outlives the writer.
  Writer(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
         ResourceValidator validator, std::string base_url);

  // `path` is the part after the FHIR base. Handles POST [type], PUT [type]/[id],
  // PUT [type]?search, DELETE [type]/[id] and POST [base] (transaction or batch Bundle).
  http::Response Handle(const http::Request& req, std::string_view path,
                        const WritePermission& allowed);

 private:
  // Stores `resource` as type/id. With `condition` (a conditional update) the id is decided
  // under the write lock: the one resource the condition matches, else the body's id or a new
  // one; several matches are refused.
  http::Response Put(const std::string& type, std::string id, json::Value resource,
                     std::string_view if_match, bool created_by_post,
                     const SearchQuery* condition = nullptr);
  http::Response Transaction(const http::Request& req, const WritePermission& allowed);

  store::ResourceStore& store_;
  std::shared_ptr<const SearchParamRegistry> registry_;
  ResourceValidator validator_;
  std::string base_url_;
};

}  // namespace portico::fhir
