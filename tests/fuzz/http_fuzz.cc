// HTTP/1.1 requests off the socket: Boost.Beast's request_parser<string_body> with the limits
// the server sets (headers, chunked and sized bodies, pipelined requests), then the server's own
// request-target handling (path/query split, PercentDecode of the path, lower-cased header
// names), the query-string parse and the form-body parse.
// Invariant: a decoded path is never longer than the raw path.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "src/base/strings.h"
#include "src/http/message.h"
#include "tests/fuzz/fuzz_util.h"

namespace bhttp = boost::beast::http;
namespace base = portico::base;

namespace {

// Mirrors src/http/server.cc after a request has been read.
void Convert(bhttp::request<bhttp::string_body>& msg) {
  portico::http::Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  size_t q = req.target.find('?');
  std::string_view raw_path =
      std::string_view(req.target).substr(0, q == std::string::npos ? req.target.size() : q);
  if (q != std::string::npos) {
    req.query = req.target.substr(q + 1);
  }
  (void)msg.keep_alive();
  auto decoded = base::PercentDecode(raw_path, false);
  if (raw_path.empty() || raw_path[0] != '/' || !decoded) {
    return;
  }
  FUZZ_CHECK(decoded->size() <= raw_path.size(), raw_path);
  req.path = std::move(*decoded);
  for (const auto& f : msg) {
    req.headers.emplace_back(base::ToLowerAscii(f.name_string()), std::string(f.value()));
  }
  req.body = std::move(msg.body());
  std::vector<std::pair<std::string, std::string>> pairs;
  (void)portico::http::ParseFormEncoded(req.query, pairs);
  if (base::StartsWith(base::ToLowerAscii(req.Header("content-type")),
                       "application/x-www-form-urlencoded")) {
    (void)portico::http::ParseFormEncoded(req.body, pairs);
  }
  (void)req.Header("authorization");
  (void)base::EqualsIgnoreCase(req.Header("expect"), "100-continue");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::asio::const_buffer buf(data, size);
  // Up to a few pipelined requests, each with a fresh parser as the server uses.
  for (int i = 0; i < 4 && buf.size() > 0; ++i) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(1024 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    size_t used = parser.put(buf, ec);
    buf += used;
    // A body may need a second put after the header.
    while (!ec && !parser.is_done() && buf.size() > 0 && used > 0) {
      used = parser.put(buf, ec);
      buf += used;
    }
    if (!ec && !parser.is_done() && buf.size() == 0) {
      parser.put_eof(ec);
    }
    if (ec || !parser.is_done()) {
      return 0;
    }
    if (parser.get().target().size() > 8 * 1024) {
      return 0;  // 414 in the server
    }
    auto msg = parser.release();
    Convert(msg);
  }
  return 0;
}
