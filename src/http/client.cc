#include "src/http/client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

namespace portico::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

struct Url {
  bool https = false;
  std::string host;
  std::string port;
  std::string target;
};

bool ParseUrl(const std::string& url, Url& out) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.https = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return false;
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  } else {
    out.host = authority;
    out.port = out.https ? "443" : "80";
  }
  if (!out.host.empty() && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return !out.host.empty() && !out.port.empty();
}

template <typename Stream>
StatusOr<std::string> Exchange(Stream& stream, const Url& u, const GetOptions& options) {
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, u.target, 11};
  req.set(bhttp::field::host, u.host);
  req.set(bhttp::field::user_agent, "portico");
  req.set(bhttp::field::accept, "application/json");
  boost::system::error_code ec;
  bhttp::write(stream, req, ec);
  if (ec) {
    return UnavailableError("request failed: " + ec.message());
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.max_bytes);
  bhttp::read(stream, buffer, parser, ec);
  if (ec) {
    return UnavailableError("response failed: " + ec.message());
  }
  auto res = parser.release();
  if (res.result_int() != 200) {
    return UnavailableError("the server answered " + std::to_string(res.result_int()));
  }
  return std::move(res.body());
}

}  // namespace

StatusOr<std::string> HttpGet(const std::string& url, const GetOptions& options) {
  Url u;
  if (!ParseUrl(url, u)) {
    return InvalidArgumentError("not an http(s) URL");
  }
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    auto results = resolver.resolve(u.host, u.port, ec);
    if (ec) {
      return UnavailableError("cannot resolve host: " + ec.message());
    }
    auto timeout = std::chrono::seconds(options.timeout_seconds);
    if (!u.https) {
      beast::tcp_stream stream(ioc);
      stream.expires_after(timeout);
      stream.connect(results, ec);
      if (ec) {
        return UnavailableError("cannot connect: " + ec.message());
      }
      return Exchange(stream, u, options);
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(asio::ssl::verify_peer);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str())) {
      return UnavailableError("cannot set SNI");
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).connect(results, ec);
    if (ec) {
      return UnavailableError("cannot connect: " + ec.message());
    }
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      return UnavailableError("TLS handshake failed: " + ec.message());
    }
    return Exchange(stream, u, options);
  } catch (const std::exception&) {
    return UnavailableError("request failed");
  }
}

}  // namespace portico::http
