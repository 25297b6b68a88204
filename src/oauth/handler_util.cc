#include "src/oauth/handler_util.h"

#include <utility>
#include <vector>

#include "src/auth/crypto.h"
#include "src/base/digest.h"
#include "src/base/strings.h"

namespace portico::oauth {

std::string Sha(std::string_view s) { return base::Sha256Hex(s); }

std::string Random(size_t bytes) {
  auto r = auth::RandomToken(bytes);
  return r.ok() ? *r : std::string();
}

std::string Get(const Params& p, const std::string& key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

bool ReadParams(const http::Request& req, Params& out, bool include_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (include_query || req.method != "POST") {
    if (!http::ParseFormEncoded(req.query, pairs)) {
      return false;
    }
  }
  if (req.method == "POST") {
    std::string ct = base::ToLowerAscii(req.Header("content-type"));
    if (base::StartsWith(ct, "application/x-www-form-urlencoded")) {
      if (!http::ParseFormEncoded(req.body, pairs)) {
        return false;
      }
    }
  }
  for (auto& [k, v] : pairs) {
    out.emplace(std::move(k), std::move(v));
  }
  return true;
}

std::string CookieValue(const http::Request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") {
      continue;
    }
    for (std::string_view part : base::Split(v, ';')) {
      part = base::Trim(part);
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) {
        return std::string(part.substr(eq + 1));
      }
    }
  }
  return {};
}

http::Response JsonResponse(int status, const json::Value& v) {
  http::Response r;
  r.status = status;
  r.body = json::Serialize(v);
  r.SetHeader("Content-Type", "application/json");
  r.SetHeader("Cache-Control", "no-store");
  r.SetHeader("Pragma", "no-cache");
  return r;
}

http::Response ErrorResponse(int status, const std::string& error, const std::string& description) {
  json::Value v = json::Value::MakeObject();
  v.Set("error", json::Value::String(error));
  if (!description.empty()) {
    v.Set("error_description", json::Value::String(description));
  }
  return JsonResponse(status, v);
}

http::Response RedirectResponse(int status, const std::string& location) {
  http::Response r;
  r.status = status;
  r.SetHeader("Location", location);
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

std::string FormatWhen(base::Millis ms) {
  return ms <= 0 ? std::string("-") : base::FormatInstant(ms).substr(0, 16).replace(10, 1, " ");
}

std::optional<SignInForm> StartSignIn(store::AuthStore& store, std::string browser,
                                      const std::string& marker, base::Millis expires_at) {
  SignInForm form;
  form.new_browser = browser.size() < 32;
  form.browser = form.new_browser ? Random(32) : std::move(browser);
  form.tx = Random(24);
  form.csrf = Random(24);
  if (form.browser.empty() || form.tx.empty() || form.csrf.empty()) {
    return std::nullopt;
  }
  store::AuthRequest pre;
  pre.id_hash = Sha(form.tx);
  pre.session_hash = Sha(form.browser);
  pre.csrf_token = form.csrf;
  pre.client_id = marker;
  pre.expires_at = expires_at;
  if (!store.PutAuthRequest(pre).ok()) {
    return std::nullopt;
  }
  return form;
}

}  // namespace portico::oauth
