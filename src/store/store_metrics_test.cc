#include "src/store/store_metrics.h"

#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace portico::store {
namespace {

TEST(StoreMetricsTest, HeldConnectionCountsInUseUntilDestroyedAndMoves) {
  StoreMetrics& m = StoreMetrics::Global();
  StoreMetrics::Snapshot before = m.Get(StoreMetrics::kPostgresReplica);
  {
    HeldConnection a(StoreMetrics::kPostgresReplica);
    EXPECT_EQ(m.Get(StoreMetrics::kPostgresReplica).in_use, before.in_use + 1);
    HeldConnection b(std::move(a));  // moving does not count it twice, nor finish it
    EXPECT_EQ(m.Get(StoreMetrics::kPostgresReplica).in_use, before.in_use + 1);
    EXPECT_EQ(m.Get(StoreMetrics::kPostgresReplica).holds, before.holds);
  }
  StoreMetrics::Snapshot after = m.Get(StoreMetrics::kPostgresReplica);
  EXPECT_EQ(after.in_use, before.in_use);
  EXPECT_EQ(after.holds, before.holds + 1);
}

TEST(StoreMetricsTest, RendersEveryPoolThatWasUsed) {
  StoreMetrics& m = StoreMetrics::Global();
  m.RecordWait(StoreMetrics::kPostgresReplica, 0.002);
  m.RecordExhausted(StoreMetrics::kPostgresReplica);
  m.SetCapacity(StoreMetrics::kPostgresReplica, 7);
  std::string out = m.RenderPrometheus();
  for (const char* want :
       {"# TYPE portico_store_hold_seconds histogram",
        "# TYPE portico_store_wait_seconds histogram",
        "portico_store_wait_seconds_bucket{pool=\"postgresql_replica\",le=\"0.0025\"}",
        "portico_store_connections_in_use{pool=\"postgresql_replica\"}",
        "portico_store_connections_open{pool=\"postgresql_replica\"}",
        "portico_store_connections_max{pool=\"postgresql_replica\"} 7\n",
        "portico_store_pool_exhausted_total{pool=\"postgresql_replica\"}"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
  }
}

}  // namespace
}  // namespace portico::store
