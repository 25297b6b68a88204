// HTTP/1.1 server on Boost.Beast/Asio with C++20 coroutines. Enforces request limits (header size,
// body size, target length, slow clients) and answers violations itself with clean 4xx responses.
// Each of the `threads` I/O threads owns the connections it accepted (no hand-offs between threads
// on the way of a request); requests that `runs_long` names run on a separate pool instead.
// Thread-safe: the handler is called concurrently from all of these threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "src/base/status.h"
#include "src/http/message.h"

namespace portico::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port
  int threads = 0;       // 0 = number of cores
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 16 * 1024 * 1024;
  size_t max_target_bytes = 8 * 1024;
  int header_timeout_seconds = 10;  // whole header must arrive within this (slowloris)
  int body_timeout_seconds = 30;
  int idle_timeout_seconds = 60;    // keep-alive idle
  bool access_log = false;          // method, path (no query), status, duration; never bodies
  std::string tls_cert_file;        // PEM certificate chain; with tls_key_file enables HTTPS
  std::string tls_key_file;         // PEM private key (TLS 1.2 and 1.3 only, AEAD suites)
  // Called with (status, body) to build error bodies for limit violations.
  std::function<Response(int status, const std::string& message)> error_response;
  // Requests that may hold a thread for milliseconds (a password check, a durable commit): they
  // run on `long_request_threads` threads of their own, so that the other connections of the
  // I/O thread that read them are not held up meanwhile. Unset: every request runs on its I/O
  // thread.
  std::function<bool(const Request&)> runs_long;
  int long_request_threads = 2;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. After success, port() is the bound port.
  Status Listen();
  uint16_t port() const;
  // Serves until Stop() or SIGINT/SIGTERM; drains in-flight requests before returning.
  void Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// gzip-compresses `in`; returns false on failure.
bool GzipCompress(std::string_view in, std::string& out);

}  // namespace portico::http
