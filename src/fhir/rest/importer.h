// Loads FHIR data into a ResourceStore: single resources, Bundles (collection, transaction, batch,
// searchset, ...) and NDJSON. One file (or one Bundle) is one atomic write: a file with any bad
// entry changes nothing. Ids carried by the data are kept; transaction entries POSTed with
// urn:uuid fullUrls keep their resource id (or take the uuid), and references to those urns are
// rewritten to Type/id.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/base/status.h"
#include "src/fhir/model/resource.h"
#include "src/fhir/model/validator.h"
#include "src/fhir/search/indexer.h"
#include "src/fhir/search/registry.h"
#include "src/json/json.h"
#include "src/store/resource_store.h"

namespace portico::fhir {

struct ImportCounts {
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t deleted = 0;
  int64_t superseded = 0;  // skipped because a later occurrence in the same run replaces it
  int64_t total() const { return created + updated + unchanged + deleted + superseded; }
};

struct ImportError {
  std::string source;  // file name
  int64_t entry = -1;  // Bundle entry index or NDJSON line (1-based), -1 for the whole file
  std::string message;
};

// Returns problems of one resource (empty = acceptable). Each string is "path: reason".
using ResourceValidator = std::function<std::vector<std::string>(const json::Value& resource)>;

// Profile findings of one resource (see src/fhir/model/profile_checker.h), with severities.
using ProfileValidator = std::function<std::vector<ValidationIssue>(const json::Value& resource)>;

// A relative "Type/id" reference found in a stored resource.
struct ReferenceSite {
  std::string source;  // file name
  int64_t entry = -1;  // as in ImportError
  std::string path;    // of the Reference element, e.g. "Observation.subject"
  std::string target;  // "Type/id" (any /_history/n suffix dropped)
};

class Importer {
 public:
  // REQUIRES: `store` outlives the importer.
  Importer(store::ResourceStore& store, std::shared_ptr<const SearchParamRegistry> registry,
           ResourceValidator validator = nullptr);

  // Imports the content of one file atomically. On failure nothing of it is stored and the
  // errors explain why; `counts` is only updated on success.
  bool ImportContent(const std::string& source, std::string_view content, ImportCounts& counts,
                     std::vector<ImportError>& errors);

  // One resource (or deletion) of a parsed file, checked and ready to store.
  struct Pending {
    std::string type;
    std::string id;
    bool is_delete = false;
    int64_t entry = -1;
    std::vector<std::pair<std::string, std::string>> references;  // (path, Type/id)
    // Set with `index` when the resource is prepared for writing (its parsed value is released
    // then: the writer only splices the serialized text).
    PreparedResource prepared;
    IndexEntries index;
  };
  // A file parsed and checked by Parse(), to be written by Store().
  struct Parsed {
    std::string source;
    bool ok = false;  // false: `errors` say why, and Store() writes nothing
    std::vector<Pending> pending;
    std::vector<ImportError> errors;
    std::vector<ImportError> warnings;
  };
  // ImportContent in two steps, so that a caller can parse the next file while the previous one
  // is stored: Parse() does not touch the store and may run on another thread than Store()
  // (but not concurrently with Keys()).
  Parsed Parse(const std::string& source, std::string_view content) const;
  bool Store(Parsed& parsed, ImportCounts& counts, std::vector<ImportError>& errors);

  // The "Type/id" keys that ImportContent would write for `content`, in write order (structure
  // checked, profiles not). Empty when the content would fail.
  std::vector<std::string> Keys(std::string_view content);

  // The keys of an NDJSON file whose every line is one resource with a plain string resourceType
  // (not Bundle) and id, read from the start of each line without parsing or checking the rest:
  // for a file that loads they equal Keys(content), at a fraction of its cost (for one that does
  // not, they may not). nullopt for any other content.
  static std::optional<std::vector<std::string>> QuickKeys(std::string_view content);

  // When set, a write whose (key, ordinal within its file) makes this return true is skipped and
  // counted as superseded: the import command uses it so that, when one run holds the same
  // resource several times, only the last occurrence is stored (the final state equals applying
  // them in order, and a re-import of the same files creates no versions).
  void set_skip(std::function<bool(const std::string& key, int64_t ordinal)> skip) {
    skip_ = std::move(skip);
  }

  // Runs `check` on every resource after the structural validator. With `reject`, a resource with
  // an error-severity finding fails its file like a validation error; otherwise every finding is
  // kept as a warning (see TakeWarnings) and the resource is stored.
  void set_profile_validator(ProfileValidator check, bool reject) {
    profile_validator_ = std::move(check);
    reject_profile_errors_ = reject;
  }
  // Profile warnings gathered by ImportContent so far (message "path: reason"); clears them.
  std::vector<ImportError> TakeWarnings() { return std::move(warnings_); }
  // Called, after a file is committed, for every relative Type/id reference in the resources it
  // stored (not for superseded ones), so that the caller can check they resolve.
  void set_reference_observer(std::function<void(const ReferenceSite&)> observer) {
    reference_observer_ = std::move(observer);
  }
  // Threads that parse, validate and index the lines of an NDJSON file (default 1). Results and
  // messages keep the file's order whatever the number. The validators must be thread-safe.
  void set_threads(int threads) { threads_ = threads < 1 ? 1 : threads; }

 private:
  // Where the checks of one part of a file report.
  struct Sink {
    std::vector<Pending>& out;
    std::vector<ImportError>& errors;
    std::vector<ImportError>& warnings;
  };
  bool CollectBundle(const std::string& source, json::Value bundle, Sink sink) const;
  bool CheckOne(const std::string& source, int64_t entry, json::Value& resource, Sink sink) const;
  void CollectLines(const std::string& source, const std::vector<std::string_view>& lines,
                    size_t from, size_t to, Sink sink) const;
  bool Apply(const std::string& source, std::vector<Pending>& pending, ImportCounts& counts,
             std::vector<ImportError>& errors);
  bool Collect(const std::string& source, std::string_view content, std::vector<Pending>& pending,
               std::vector<ImportError>& errors, std::vector<ImportError>& warnings) const;

  store::ResourceStore& store_;
  std::shared_ptr<const SearchParamRegistry> registry_;
  ResourceValidator validator_;
  std::function<bool(const std::string& key, int64_t ordinal)> skip_;
  ProfileValidator profile_validator_;
  bool reject_profile_errors_ = false;
  bool keys_only_ = false;  // inside Keys(): no profile checks, no warnings
  std::vector<ImportError> warnings_;
  std::function<void(const ReferenceSite&)> reference_observer_;
  int threads_ = 1;
};

}  // namespace portico::fhir
