// Plain request/response structs: the only HTTP types that domain layers see. No Beast here, so
// handlers are tested without sockets.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::http {

struct Request {
  std::string method;       // "GET", "POST", ...
  std::string target;       // raw request target, e.g. "/fhir/Patient?name=x"
  std::string path;         // percent-decoded path without the query
  std::string query;        // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_addr;
  std::string request_id;
  bool secure = false;  // arrived over TLS

  // First header with this lower-case name, or "".
  std::string_view Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(std::string name, std::string value);
  std::string_view Header(std::string_view name) const;
};

using Handler = std::function<Response(const Request&)>;

// Parses "a=1&b=2" (application/x-www-form-urlencoded) into decoded pairs, in order.
// Returns false on a malformed percent escape.
bool ParseFormEncoded(std::string_view body,
                      std::vector<std::pair<std::string, std::string>>& out);

}  // namespace portico::http
