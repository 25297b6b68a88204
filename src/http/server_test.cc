#include "src/http/server.h"

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "src/http/client.h"

namespace portico::http {
namespace {

// A server on a free loopback port, run on a thread of its own for the length of a test.
class RunningServer {
 public:
  RunningServer(ServerOptions options, Handler handler) : server_(WithLoopback(options), handler) {
    Status s = server_.Listen();
    EXPECT_TRUE(s.ok()) << s.message();
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~RunningServer() {
    server_.Stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }

 private:
  static ServerOptions WithLoopback(ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  Server server_;
  std::thread thread_;
};

Response Text(const std::string& body) {
  Response r;
  r.status = 200;
  r.body = body;
  r.SetHeader("Content-Type", "text/plain");
  return r;
}

// Each I/O thread serves the connections it accepted; a request named long-running must not
// hold up the others of its thread. Connections are dealt to the two threads in turn, so of the
// fast requests that follow the blocked one, every second lands on its thread.
TEST(ServerTest, ALongRequestDoesNotHoldUpItsThreadsOtherConnections) {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ServerOptions options;
  options.threads = 2;
  options.runs_long = [](const Request& req) { return req.path == "/slow"; };
  RunningServer server(options, [&](const Request& req) {
    if (req.path == "/slow") {
      started.set_value();
      // Bounded, so that a regression fails the test instead of hanging it.
      released.wait_for(std::chrono::seconds(20));
      return Text("slow done");
    }
    return Text("fast " + req.path);
  });
  std::future<StatusOr<std::string>> slow =
      std::async(std::launch::async, [&] { return HttpGet(server.Url("/slow"), {30}); });
  ASSERT_EQ(started.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  for (int i = 0; i < 4; ++i) {
    std::string path = "/fast" + std::to_string(i);
    StatusOr<std::string> fast = HttpGet(server.Url(path), {5});
    ASSERT_TRUE(fast.ok()) << path << ": " << fast.status().message();
    EXPECT_EQ(*fast, "fast " + path);
  }
  EXPECT_EQ(slow.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  release.set_value();
  StatusOr<std::string> done = slow.get();
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(*done, "slow done");
}

// Without runs_long every request runs on its I/O thread, and each thread serves its own share.
TEST(ServerTest, EveryThreadServesItsConnections) {
  ServerOptions options;
  options.threads = 3;
  RunningServer server(options, [](const Request& req) { return Text("ok " + req.path); });
  for (int i = 0; i < 9; ++i) {
    StatusOr<std::string> got = HttpGet(server.Url("/r" + std::to_string(i)), {5});
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, "ok /r" + std::to_string(i));
  }
}

}  // namespace
}  // namespace portico::http
