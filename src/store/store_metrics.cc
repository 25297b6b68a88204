#include "src/store/store_metrics.h"

#include <utility>

namespace portico::store {

StoreMetrics& StoreMetrics::Global() {
  static StoreMetrics* metrics = new StoreMetrics();  // never destroyed: used until exit
  return *metrics;
}

const char* StoreMetrics::PoolName(Pool pool) {
  switch (pool) {
    case kSqliteReader:
      return "sqlite_reader";
    case kSqliteWriter:
      return "sqlite_writer";
    case kPostgresPrimary:
      return "postgresql_primary";
    case kPostgresReplica:
      return "postgresql_replica";
    case kPoolCount:
      break;
  }
  return "other";
}

void StoreMetrics::RecordWait(Pool pool, double seconds) { pools_[pool].wait.Observe(seconds); }

void StoreMetrics::RecordExhausted(Pool pool) {
  pools_[pool].exhausted.fetch_add(1, std::memory_order_relaxed);
}

void StoreMetrics::RecordHeld(Pool pool, double seconds) { pools_[pool].held.Observe(seconds); }

void StoreMetrics::AddInUse(Pool pool, int delta) {
  pools_[pool].in_use.fetch_add(delta, std::memory_order_relaxed);
}

void StoreMetrics::AddOpen(Pool pool, int delta) {
  pools_[pool].open.fetch_add(delta, std::memory_order_relaxed);
}

void StoreMetrics::SetCapacity(Pool pool, int64_t n) {
  pools_[pool].capacity.store(n, std::memory_order_relaxed);
}

StoreMetrics::Snapshot StoreMetrics::Get(Pool pool) const {
  const PoolStats& s = pools_[pool];
  return Snapshot{s.wait.count(),
                  s.held.count(),
                  s.exhausted.load(std::memory_order_relaxed),
                  s.in_use.load(std::memory_order_relaxed),
                  s.open.load(std::memory_order_relaxed),
                  s.capacity.load(std::memory_order_relaxed)};
}

std::string StoreMetrics::RenderPrometheus() const {
  std::string out;
  auto label = [](int p) { return std::string("pool=\"") + PoolName(static_cast<Pool>(p)) + "\""; };
  auto used = [this](int p) {
    const PoolStats& s = pools_[p];
    return s.wait.count() > 0 || s.held.count() > 0 || s.open.load(std::memory_order_relaxed) > 0;
  };
  out +=
      "# HELP portico_store_hold_seconds How long one store call (or one request's read "
      "scope) held a database connection.\n# TYPE portico_store_hold_seconds histogram\n";
  for (int p = 0; p < kPoolCount; ++p) {
    if (used(p)) {
      pools_[p].held.AppendPrometheus(out, "portico_store_hold_seconds", label(p));
    }
  }
  out +=
      "# HELP portico_store_wait_seconds How long a store call waited for a database "
      "connection (or for SQLite's single writer).\n"
      "# TYPE portico_store_wait_seconds histogram\n";
  for (int p = 0; p < kPoolCount; ++p) {
    if (used(p)) {
      pools_[p].wait.AppendPrometheus(out, "portico_store_wait_seconds", label(p));
    }
  }
  auto gauge = [&](const char* name, const char* help, const char* type, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (int p = 0; p < kPoolCount; ++p) {
      if (used(p)) {
        out += std::string(name) + "{" + label(p) + "} " + std::to_string(value(pools_[p])) + "\n";
      }
    }
  };
  gauge("portico_store_connections_in_use", "Database connections held by a store call now.",
        "gauge", [](const PoolStats& s) { return s.in_use.load(std::memory_order_relaxed); });
  gauge("portico_store_connections_open", "Database connections open (idle or in use).", "gauge",
        [](const PoolStats& s) { return s.open.load(std::memory_order_relaxed); });
  gauge("portico_store_connections_max",
        "The most connections the pool opens (pool_size; 0 when not bounded).", "gauge",
        [](const PoolStats& s) { return s.capacity.load(std::memory_order_relaxed); });
  gauge("portico_store_pool_exhausted_total",
        "Store calls that failed because no connection became free in time.", "counter",
        [](const PoolStats& s) { return s.exhausted.load(std::memory_order_relaxed); });
  return out;
}

HeldConnection::HeldConnection(StoreMetrics::Pool pool)
    : active_(true), pool_(pool), since_(std::chrono::steady_clock::now()) {
  StoreMetrics::Global().AddInUse(pool_, 1);
}

HeldConnection::HeldConnection(HeldConnection&& o) noexcept
    : active_(std::exchange(o.active_, false)), pool_(o.pool_), since_(o.since_) {}

HeldConnection& HeldConnection::operator=(HeldConnection&& o) noexcept {
  if (this != &o) {
    Finish();
    active_ = std::exchange(o.active_, false);
    pool_ = o.pool_;
    since_ = o.since_;
  }
  return *this;
}

HeldConnection::~HeldConnection() { Finish(); }

void HeldConnection::Finish() {
  if (!active_) {
    return;
  }
  active_ = false;
  StoreMetrics& m = StoreMetrics::Global();
  m.AddInUse(pool_, -1);
  m.RecordHeld(pool_,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count());
}

}  // namespace portico::store
