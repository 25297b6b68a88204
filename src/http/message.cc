#include "src/http/message.h"

#include "src/base/strings.h"

namespace portico::http {

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) {
      return v;
    }
  }
  return {};
}

void Response::SetHeader(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (base::EqualsIgnoreCase(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

std::string_view Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (base::EqualsIgnoreCase(k, name)) {
      return v;
    }
  }
  return {};
}

bool ParseFormEncoded(std::string_view body,
                      std::vector<std::pair<std::string, std::string>>& out) {
  if (body.empty()) {
    return true;
  }
  for (std::string_view part : base::Split(body, '&')) {
    if (part.empty()) {
      continue;
    }
    size_t eq = part.find('=');
    std::string_view k = eq == std::string_view::npos ? part : part.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    auto dk = base::PercentDecode(k, true);
    auto dv = base::PercentDecode(v, true);
    if (!dk || !dv) {
      return false;
    }
    out.emplace_back(std::move(*dk), std::move(*dv));
  }
  return true;
}

}  // namespace portico::http
