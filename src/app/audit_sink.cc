#include "src/app/audit_sink.h"

#include <chrono>
#include <cstdio>

#include "src/base/log.h"

namespace portico::app {

namespace {
constexpr size_t kMaxQueued = 100000;  // beyond this, events are dropped and counted
constexpr size_t kBatch = 5000;        // events written per transaction
}  // namespace

AuditSink::AuditSink(store::AuthStore& store) : store_(store), thread_([this] { Run(); }) {}

AuditSink::~AuditSink() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void AuditSink::Record(store::AuditEvent event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() >= kMaxQueued) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(event));
  if (queue_.size() >= 1000) {
    cv_.notify_one();
  }
}

void AuditSink::Run() {
  std::vector<store::AuditEvent> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(500),
                   [this] { return stopping_ || queue_.size() >= 1000; });
      if (queue_.size() <= kBatch) {
        batch.swap(queue_);
      } else {
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + kBatch));
        queue_.erase(queue_.begin(), queue_.begin() + kBatch);
      }
      if (batch.empty() && stopping_) {
        return;
      }
    }
    if (!batch.empty()) {
      Status s = store_.AuditBatch(batch);
      if (!s.ok()) {
        base::LogLine(base::LogLevel::kError, "audit.write_failed")
            .Int("count", static_cast<int64_t>(batch.size()))
            .Str("detail", s.message());
      }
      batch.clear();
    }
  }
}

}  // namespace portico::app
