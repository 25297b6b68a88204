// The storage interface for FHIR resources: versioned JSON plus search index rows.
// Implementations: store/sqlite (embedded default). Thread-safe: any number of concurrent readers
// and one writer at a time (a second writer waits).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/base/status.h"
#include "src/base/time.h"
#include "src/fhir/search/indexer.h"
#include "src/fhir/search/query.h"

namespace portico::store {

struct StoredResource {
  std::string type;
  std::string id;
  int64_t version = 0;
  base::Millis last_updated = 0;
  bool deleted = false;
  std::string body;  // the stored JSON (with id and meta.versionId/lastUpdated set)
  int64_t seq = 0;   // store-wide stable position, for keyset paging
};

enum class WriteResult { kCreated, kUpdated, kUnchanged };

struct PutOutcome {
  WriteResult result = WriteResult::kUnchanged;
  int64_t version = 0;
};

struct SearchPage {
  std::vector<StoredResource> matches;  // in the query's order
  std::vector<StoredResource> includes;
  bool has_more = false;    // rows follow the last match (in the query's order)
  bool has_before = false;  // rows precede the first match (exact for backward pages; for
                            // forward pages: a cursor was given)
  int64_t last_seq = -1;    // keyset position of the last match
  int64_t first_seq = -1;   // keyset position of the first match
  std::vector<fhir::SortValue> first_key;  // sort values of the first / last match
  std::vector<fhir::SortValue> last_key;   // (one per SearchQuery::sort key)
  std::optional<int64_t> total;            // when requested (kEstimate: capped at 10,000)
};

// A group of writes applied atomically: nothing is visible until Commit(), and a batch destroyed
// without Commit() leaves the store unchanged.
class WriteBatch {
 public:
  virtual ~WriteBatch() = default;
  // Stores `body` (minified JSON that already carries id and meta) as the next version of
  // type/id, unless its content (apart from meta.versionId/lastUpdated) equals the current one.
  // `content_hash` identifies that content; `make_body(version, last_updated)` renders the
  // stored bytes once the version is known.
  virtual StatusOr<PutOutcome> Put(
      const std::string& type, const std::string& id, const std::string& content_hash,
      const std::function<std::string(int64_t, base::Millis)>& make_body,
      const fhir::IndexEntries& index) = 0;
  // Marks type/id deleted (a new version without body). NotFound when absent.
  virtual StatusOr<int64_t> Delete(const std::string& type, const std::string& id) = 0;
  virtual Status Commit() = 0;
  // A read and a search inside this batch, under its write lock and on the primary: what a
  // version-checked or conditional write decides on cannot change before it commits. They see
  // what is committed, not this batch's own writes: call them before Put and Delete.
  virtual StatusOr<std::optional<StoredResource>> Read(const std::string& type,
                                                       const std::string& id) = 0;
  virtual StatusOr<SearchPage> Search(const fhir::SearchQuery& query,
                                      const fhir::AccessScope& scope) = 0;
  // Optional hint before a run of Put/Delete calls: the (type, id) keys about to be written, so
  // that a backend with a network round trip per lookup can fetch their current state at once.
  virtual Status Prefetch(const std::vector<std::pair<std::string, std::string>>& keys) {
    (void)keys;
    return Status::Ok();
  }
};

struct HistoryQuery {
  std::string type;  // "" = whole system
  std::string id;    // "" = type level
  std::optional<base::Millis> since;
  std::optional<base::Millis> at;  // versions current at this instant (_at)
  int count = 50;
  int offset = 0;
};

// Held for the length of a request that only reads; see ResourceStore::PinReads.
class ReadScope {
 public:
  virtual ~ReadScope() = default;
};

class ResourceStore {
 public:
  virtual ~ResourceStore() = default;

  // Until the returned scope is destroyed, the reads this thread makes through this store (and
  // the auth store sharing its database) use one connection and see one snapshot: one read
  // transaction per request instead of one per statement. nullptr when the store gains nothing
  // by it, or when this thread already holds a scope. Only for work that does not write: a
  // write made inside the scope would not be visible to the scope's reads.
  virtual std::unique_ptr<ReadScope> PinReads() { return nullptr; }

  // Current version (possibly a deletion marker); nullopt when never stored.
  virtual StatusOr<std::optional<StoredResource>> Read(const std::string& type,
                                                       const std::string& id) = 0;
  virtual StatusOr<std::optional<StoredResource>> ReadVersion(const std::string& type,
                                                              const std::string& id,
                                                              int64_t version) = 0;
  // Versions newest first.
  virtual StatusOr<std::vector<StoredResource>> History(const HistoryQuery& query) = 0;
  // The compartments (patient ids) the current version of type/id belongs to.
  virtual StatusOr<std::vector<std::string>> PatientsOf(const std::string& type,
                                                        const std::string& id) = 0;
  virtual StatusOr<SearchPage> Search(const fhir::SearchQuery& query,
                                      const fhir::AccessScope& scope) = 0;
  // Begins an atomic batch (waits for other writers).
  virtual StatusOr<std::unique_ptr<WriteBatch>> BeginWrite() = 0;
  // Counts of current (not deleted) resources per type.
  virtual StatusOr<std::vector<std::pair<std::string, int64_t>>> CountByType() = 0;
  // Refreshes the query planner's statistics after a bulk load, so that the first searches on
  // new data get good plans (PostgreSQL's autovacuum would only catch up minutes later).
  virtual Status UpdateStatistics() { return Status::Ok(); }
  // Before a bulk load: a store that is empty may drop its search indexes, to build each once
  // in FinishBulkLoad (one sorted build costs less than keeping it in order row by row).
  // Returns whether it did. Until then searches stay correct but scan; if the process ends
  // first, opening the store builds them.
  virtual StatusOr<bool> StartBulkLoad() { return false; }
  // After the load (also when part of it failed): builds what StartBulkLoad dropped.
  virtual Status FinishBulkLoad() { return Status::Ok(); }
};

}  // namespace portico::store
