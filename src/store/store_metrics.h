// Where the store spends its time and how its connections are used, for /metrics: how long each
// store call holds a connection, how long callers wait for one, and how many are open and in
// use. Backends record into StoreMetrics::Global(); the server renders it. Carries no PHI (the
// labels are fixed pool names). Lock-free; thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "src/base/histogram.h"

namespace portico::store {

class StoreMetrics {
 public:
  // The connection pools a process can have.
  enum Pool {
    kSqliteReader,     // SQLite's read-only connections
    kSqliteWriter,     // SQLite's single writer (a lock, not a pool)
    kPostgresPrimary,  // PostgreSQL primary: writes, auth data, and reads without a replica
    kPostgresReplica,  // PostgreSQL read replica
    kPoolCount
  };

  static StoreMetrics& Global();
  static const char* PoolName(Pool pool);

  // A caller got a connection after waiting `seconds` (0 when one was free at once).
  void RecordWait(Pool pool, double seconds);
  // A caller gave up: no connection became free in time.
  void RecordExhausted(Pool pool);
  // A connection was held for `seconds` by one store call (or one request's read scope).
  void RecordHeld(Pool pool, double seconds);
  void AddInUse(Pool pool, int delta);
  void AddOpen(Pool pool, int delta);
  // The most connections the pool opens (0: not bounded).
  void SetCapacity(Pool pool, int64_t n);

  // One pool's figures now (for tests and logs).
  struct Snapshot {
    uint64_t waits = 0;  // connections handed out
    uint64_t holds = 0;  // connections given back
    uint64_t exhausted = 0;
    int64_t in_use = 0;
    int64_t open = 0;
    int64_t capacity = 0;
  };
  Snapshot Get(Pool pool) const;

  std::string RenderPrometheus() const;

 private:
  struct PoolStats {
    base::Histogram wait;
    base::Histogram held;
    std::atomic<uint64_t> exhausted{0};
    std::atomic<int64_t> in_use{0};
    std::atomic<int64_t> open{0};
    std::atomic<int64_t> capacity{0};
  };
  std::array<PoolStats, kPoolCount> pools_{};
};

// Counts one connection in use from construction to destruction and records how long it was
// held. Movable so that it can live in a lease.
class HeldConnection {
 public:
  HeldConnection() = default;
  explicit HeldConnection(StoreMetrics::Pool pool);
  HeldConnection(HeldConnection&& o) noexcept;
  HeldConnection& operator=(HeldConnection&& o) noexcept;
  HeldConnection(const HeldConnection&) = delete;
  HeldConnection& operator=(const HeldConnection&) = delete;
  ~HeldConnection();

 private:
  void Finish();
  bool active_ = false;
  StoreMetrics::Pool pool_ = StoreMetrics::kSqliteReader;
  std::chrono::steady_clock::time_point since_;
};

}  // namespace portico::store
