#include "src/http/server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <zlib.h>

#include "src/base/log.h"
#include "src/base/strings.h"
#include "src/http/metrics.h"

namespace portico::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

bool GzipCompress(std::string_view in, std::string& out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return false;
  }
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

namespace {

// The Date header changes once a second; each I/O thread formats it once per second.
const std::string& HttpDate() {
  thread_local std::time_t formatted_at = -1;
  thread_local std::string value;
  std::time_t t = std::time(nullptr);
  if (t != formatted_at) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    value = buf;
    formatted_at = t;
  }
  return value;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) {
    id[static_cast<size_t>(i)] = kHex[v & 15];
  }
  return id;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  for (std::string_view part : base::Split(accept_encoding, ',')) {
    part = base::Trim(part);
    std::string_view coding = part.substr(0, part.find(';'));
    if (base::EqualsIgnoreCase(base::Trim(coding), "gzip")) {
      return part.find("q=0") == std::string_view::npos ||
             part.find("q=0.") != std::string_view::npos;
    }
  }
  return false;
}

// Counts one request in flight for as long as it lives.
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& n) : n_(n) { n_.fetch_add(1); }
  ~InFlight() { n_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int>& n_;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  // The first I/O thread's loop; it also runs the acceptor, the signals and the drain. Each
  // other I/O thread runs a loop of its own (`workers`), and a connection stays on the loop that
  // accepted it: nothing of a request crosses threads, which with one shared loop cost several
  // futex calls per request.
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_guards;
  // Declared after `workers`, so destroyed before them: a pending accept on it holds a socket
  // bound to a worker's loop. The long-request loop, declared later still, goes first: its
  // pending handlers resume connections on these loops.
  asio::io_context ioc{1};
  size_t next_loop = 0;  // round robin over ioc and workers (used on `control` only)
  // For the requests options.runs_long names: a loop run by threads of their own (in Run).
  std::unique_ptr<asio::io_context> long_pool;
  // The acceptor, the signal set and the drain timer are touched only on this strand, so
  // Stop() (posted from any thread) never races an accept in progress on another thread.
  asio::strand<asio::io_context::executor_type> control{asio::make_strand(ioc)};
  tcp::acceptor acceptor{control};
  asio::signal_set signals{control, SIGINT, SIGTERM};
  // Requests begun and not yet answered: from a complete header until the last byte of the
  // response is written (so a drain waits for a body still arriving and a response still
  // being sent, not only for the handler).
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  std::unique_ptr<asio::ssl::context> ssl_ctx;  // set when serving HTTPS
  asio::steady_timer drain_timer{control};
  std::chrono::steady_clock::time_point drain_deadline;

  void DrainPoll() {
    if (in_flight.load() == 0 || std::chrono::steady_clock::now() > drain_deadline) {
      for (auto& w : workers) {
        w->stop();
      }
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([this](const boost::system::error_code&) { DrainPoll(); });
  }

  Response CallHandler(const Request& req) {
    try {
      return handler(req);
    } catch (const std::exception&) {
      return ErrorResponse(500, "Internal server error");
    }
  }

  // The loop the next accepted connection goes to.
  asio::io_context& NextLoop() {
    size_t i = next_loop++ % (workers.size() + 1);
    return i == 0 ? ioc : *workers[i - 1];
  }

  Response ErrorResponse(int status, const std::string& message) {
    if (options.error_response) {
      return options.error_response(status, message);
    }
    Response r;
    r.status = status;
    r.body = message;
    r.SetHeader("Content-Type", "text/plain; charset=utf-8");
    return r;
  }

  template <class Stream>
  asio::awaitable<void> Write(Stream& stream, Response& resp, bool keep_alive, bool head_only,
                              bool gzip_ok, bool secure) {
    bhttp::response<bhttp::string_body> out;
    out.version(11);
    out.result(static_cast<unsigned>(resp.status));
    for (auto& [k, v] : resp.headers) {
      out.set(k, v);
    }
    out.set(bhttp::field::date, HttpDate());
    if (secure) {
      out.set(bhttp::field::strict_transport_security, "max-age=31536000; includeSubDomains");
    }
    if (gzip_ok && resp.body.size() > 1024 && resp.Header("Content-Encoding").empty()) {
      std::string z;
      if (GzipCompress(resp.body, z)) {
        resp.body = std::move(z);
        out.set(bhttp::field::content_encoding, "gzip");
        out.set(bhttp::field::vary, "Accept-Encoding");
      }
    }
    out.body() = std::move(resp.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(
        std::chrono::seconds(options.body_timeout_seconds));
    if (head_only) {
      bhttp::response_serializer<bhttp::string_body> sr(out);
      co_await bhttp::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable));
    } else {
      co_await bhttp::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    if (ssl_ctx == nullptr) {
      co_await Serve(std::make_shared<beast::tcp_stream>(std::move(socket)), false);
      co_return;
    }
    auto tls = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *ssl_ctx);
    beast::get_lowest_layer(*tls).expires_after(
        std::chrono::seconds(options.header_timeout_seconds));
    auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server,
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;  // not TLS, an old protocol version or a bad client: nothing to answer
    }
    co_await Serve(tls, true);
  }

  // One connection's request loop. The socket's loop is run by one thread, so the timer
  // handler below and this coroutine never run at the same time (a strand would only add a
  // queue); the stream is shared with the timer handler to keep it alive.
  template <class Stream>
  asio::awaitable<void> Serve(std::shared_ptr<Stream> stream_ptr, bool secure) {
    Stream& stream = *stream_ptr;
    beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
    auto header_timer = std::make_shared<asio::steady_timer>(lowest.get_executor());
    auto timed_out = std::make_shared<bool>(false);
    beast::flat_buffer buffer;
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = lowest.socket().remote_endpoint(ec);
      if (!ec) {
        remote = ep.address().to_string();
      }
    }
    bool first = true;
    while (!stopping.load()) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      // The whole header must arrive in time. Our own timer cancels the read (instead of closing
      // the socket) so that a stalled client still gets its 408.
      lowest.expires_never();
      *timed_out = false;
      header_timer->expires_after(std::chrono::seconds(first ? options.header_timeout_seconds
                                                             : options.idle_timeout_seconds));
      header_timer->async_wait([stream_ptr, timed_out](const boost::system::error_code& tec) {
        if (!tec) {
          *timed_out = true;
          boost::system::error_code ignored;
          beast::get_lowest_layer(*stream_ptr).socket().cancel(ignored);
        }
      });
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser,
                                                       asio::as_tuple(asio::use_awaitable));
      (void)n;
      header_timer->cancel();
      if (ec) {
        Response err;
        bool send = true;
        if (*timed_out) {
          send = parser.got_some() || buffer.size() > 0;
          err = ErrorResponse(408, "Request timeout: the request header did not arrive in time");
        } else if (ec == bhttp::error::header_limit) {
          err = ErrorResponse(431, "Request header fields too large");
        } else if (ec == bhttp::error::body_limit) {
          err = ErrorResponse(413, "Request body too large");
        } else if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                   ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
          send = false;
        } else {
          err = ErrorResponse(400, "Malformed HTTP request");
        }
        if (send) {
          co_await Write(stream, err, false, false, false, secure);
        }
        break;
      }
      first = false;
      InFlight in_flight_guard(in_flight);  // until this iteration ends, answered or not
      auto& hdr = parser.get();
      if (hdr.target().size() > options.max_target_bytes) {
        Response err = ErrorResponse(414, "Request URL too long");
        co_await Write(stream, err, false, false, false, secure);
        break;
      }
      if (auto cl = parser.content_length(); cl && *cl > options.max_body_bytes) {
        Response err = ErrorResponse(413, "Request body too large");
        co_await Write(stream, err, false, false, false, secure);
        break;
      }
      if (beast::iequals(hdr[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        co_await bhttp::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
      }
      lowest.expires_after(std::chrono::seconds(options.body_timeout_seconds));
      auto [ec2, n2] =
          co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)n2;
      if (ec2) {
        if (ec2 == bhttp::error::body_limit) {
          Response err = ErrorResponse(413, "Request body too large");
          co_await Write(stream, err, false, false, false, secure);
        } else if (ec2 == beast::error::timeout) {
          Response err = ErrorResponse(408, "Request timeout: the body did not arrive in time");
          co_await Write(stream, err, false, false, false, secure);
        }
        break;
      }
      auto req_msg = parser.release();
      Request req;
      req.method = std::string(req_msg.method_string());
      req.target = std::string(req_msg.target());
      size_t q = req.target.find('?');
      std::string_view raw_path =
          std::string_view(req.target).substr(0, q == std::string::npos ? req.target.size() : q);
      if (q != std::string::npos) {
        req.query = req.target.substr(q + 1);
      }
      bool keep_alive = req_msg.keep_alive();
      auto decoded = base::PercentDecode(raw_path, false);
      Response resp;
      auto started = std::chrono::steady_clock::now();
      if (raw_path.empty() || raw_path[0] != '/' || !decoded) {
        resp = ErrorResponse(400, "The request target must be an absolute path");
      } else {
        req.path = std::move(*decoded);
        for (const auto& f : req_msg) {
          req.headers.emplace_back(base::ToLowerAscii(f.name_string()), std::string(f.value()));
        }
        req.body = std::move(req_msg.body());
        req.remote_addr = remote;
        req.secure = secure;
        req.request_id = NewRequestId();
        if (long_pool != nullptr && options.runs_long(req)) {
          resp = co_await asio::co_spawn(
              long_pool->get_executor(),
              [this, &req]() -> asio::awaitable<Response> { co_return CallHandler(req); },
              asio::use_awaitable);
        } else {
          resp = CallHandler(req);
        }
        resp.SetHeader("X-Request-Id", req.request_id);
      }
      if (stopping.load()) {
        keep_alive = false;
      }
      bool gzip_ok = AcceptsGzip(req.Header("accept-encoding"));
      int status = resp.status;
      co_await Write(stream, resp, keep_alive, req.method == "HEAD", gzip_ok, secure);
      if (options.access_log) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
        // No path, query, body, token or client address: the route class and the request id
        // (also in the X-Request-Id response header) are what an operator correlates on.
        base::LogLine(base::LogLevel::kInfo, "http.request")
            .Str("request_id", req.request_id)
            .Str("method", req.method)
            .Str("route", RequestMetrics::RouteName(RequestMetrics::Classify(req.method, req.path)))
            .Int("status", status)
            .Int("duration_us", static_cast<int64_t>(us))
            .Bool("tls", secure);
      }
      if (!keep_alive) {
        break;
      }
    }
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      lowest.expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    }
    boost::system::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> Accept() {
    while (true) {
      auto [ec, socket] = co_await acceptor.async_accept(NextLoop().get_executor(),
                                                         asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
          co_return;
        }
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, Session(std::move(socket)), asio::detached);
    }
  }
};

Server::Server(ServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

Server::~Server() = default;

Status Server::Listen() {
  boost::system::error_code ec;
  if (!impl_->options.tls_cert_file.empty() || !impl_->options.tls_key_file.empty()) {
    if (impl_->options.tls_cert_file.empty() || impl_->options.tls_key_file.empty()) {
      return InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
    }
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression |
                     asio::ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all modern).
    SSL_CTX_set_cipher_list(native,
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    ctx->use_certificate_chain_file(impl_->options.tls_cert_file, ec);
    if (!ec) {
      ctx->use_private_key_file(impl_->options.tls_key_file, asio::ssl::context::pem, ec);
    }
    if (ec) {
      return InvalidArgumentError("cannot load the TLS certificate or key: " + ec.message());
    }
    impl_->ssl_ctx = std::move(ctx);
  }
  auto addr = asio::ip::make_address(impl_->options.host, ec);
  if (ec) {
    return InvalidArgumentError("invalid listen address: " + impl_->options.host);
  }
  tcp::endpoint ep(addr, impl_->options.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    impl_->acceptor.bind(ep, ec);
  }
  if (!ec) {
    impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return UnavailableError("cannot listen on " + impl_->options.host + ":" +
                            std::to_string(impl_->options.port) + ": " + ec.message());
  }
  return Status::Ok();
}

uint16_t Server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void Server::Run() {
  Impl& im = *impl_;
  int threads = im.options.threads > 0 ? im.options.threads
                                       : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) {
    threads = 1;
  }
  // The loops exist before the first accept can pick one.
  for (int i = 1; i < threads; ++i) {
    im.workers.push_back(std::make_unique<asio::io_context>(1));
    im.worker_guards.push_back(asio::make_work_guard(*im.workers.back()));
  }
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> long_guard;
  std::vector<std::thread> long_threads;
  if (im.options.runs_long) {
    im.long_pool = std::make_unique<asio::io_context>();
    long_guard.emplace(asio::make_work_guard(*im.long_pool));
    for (int i = 0; i < std::max(1, im.options.long_request_threads); ++i) {
      long_threads.emplace_back([loop = im.long_pool.get()] { loop->run(); });
    }
  }
  asio::co_spawn(im.control, im.Accept(), asio::detached);
  im.signals.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) {
      Stop();
    }
  });
  std::vector<std::thread> pool;
  for (auto& w : im.workers) {
    pool.emplace_back([loop = w.get()] { loop->run(); });
  }
  im.ioc.run();
  for (auto& t : pool) {
    t.join();
  }
  // The drain waited for the requests running on the long-request threads (up to its deadline).
  if (im.long_pool != nullptr) {
    im.long_pool->stop();
  }
  for (auto& t : long_threads) {
    t.join();
  }
}

void Server::Stop() {
  Impl& im = *impl_;
  asio::post(im.control, [&im] {
    if (im.stopping.exchange(true)) {
      return;
    }
    boost::system::error_code ec;
    im.acceptor.close(ec);
    im.signals.cancel(ec);
    // Drain: give in-flight requests up to 10 s, then stop the loop.
    im.drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    im.DrainPoll();
  });
}

}  // namespace portico::http
