// Records FHIR accesses for audit without slowing requests: events are queued in memory and a
// background thread writes them in batches. Events hold who, which app, which patient, what and
// the outcome; never tokens or resource bodies.
// Thread-safe. Flushes what is queued when destroyed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "src/store/auth_store.h"

namespace portico::app {

class AuditSink {
 public:
  // REQUIRES: `store` outlives the sink.
  explicit AuditSink(store::AuthStore& store);
  ~AuditSink();
  AuditSink(const AuditSink&) = delete;
  AuditSink& operator=(const AuditSink&) = delete;

  void Record(store::AuditEvent event);
  // Events dropped because the queue was full (the database could not keep up).
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void Run();

  store::AuthStore& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<store::AuditEvent> queue_;  // guarded by mu_
  bool stopping_ = false;                 // guarded by mu_
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace portico::app
