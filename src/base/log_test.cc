#include "src/base/log.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portico::base {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSinkForTesting([this](std::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override { SetLogSinkForTesting(nullptr); }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, OneJsonObjectPerLineWithTimeLevelAndEvent) {
  LogLine(LogLevel::kWarn, "db.unavailable")
      .Str("detail", "timeout")
      .Int("attempt", 3)
      .Bool("ready", false);
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& l = lines_[0];
  EXPECT_EQ(l.rfind("{\"ts\":\"", 0), 0u) << l;
  EXPECT_NE(l.find("Z\",\"level\":\"warn\",\"event\":\"db.unavailable\",\"detail\":\"timeout\","
                   "\"attempt\":3,\"ready\":false}\n"),
            std::string::npos)
      << l;
}

TEST_F(LogTest, EscapesWhatWouldBreakTheLine) {
  LogLine(LogLevel::kError, "x").Str("detail", "a\"b\\c\nd\te\x01 Zoë");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find(R"("detail":"a\"b\\c\nd\te\u0001 Zoë"})"), std::string::npos)
      << lines_[0];
  EXPECT_EQ(lines_[0].find('\n'), lines_[0].size() - 1);
}

TEST_F(LogTest, ConcurrentLinesStayWhole) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        LogLine(LogLevel::kInfo, "e").Int("t", t).Int("i", i);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  ASSERT_EQ(lines_.size(), 800u);
  for (const std::string& l : lines_) {
    EXPECT_EQ(l.front(), '{');
    EXPECT_EQ(l.substr(l.size() - 2), "}\n");
  }
}

}  // namespace
}  // namespace portico::base
