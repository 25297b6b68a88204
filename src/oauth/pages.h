// Server-rendered HTML for the member-facing pages: login, patient picker, consent and errors.
// Every value is HTML-escaped. Form field names are a stable contract for automation:
//   login:   inputs "username", "password"
//   picker:  radio inputs "patient"
//   consent: checkbox inputs "scope" (value = the scope string) and submit buttons
//            name="decision" with values "allow" and "deny"
// Every form also carries hidden "tx" (the authorization request) and "csrf".
#pragma once

#include <string>
#include <vector>

#include "src/http/message.h"

namespace portico::oauth {

std::string HtmlEscape(std::string_view s);

std::string LoginPage(const std::string& action, const std::string& tx, const std::string& csrf,
                      const std::string& app_name, const std::string& error);

struct PickerChoice {
  std::string patient_id;
  std::string label;  // e.g. "Ava Smith (born 2015-04-02), your dependent"
};
std::string PickerPage(const std::string& action, const std::string& tx, const std::string& csrf,
                       const std::string& app_name, const std::vector<PickerChoice>& choices,
                       const std::string& error);

struct ConsentItem {
  std::string scope;
  std::string description;
};
std::string ConsentPage(const std::string& action, const std::string& tx, const std::string& csrf,
                        const std::string& app_name, const std::string& patient_label,
                        const std::vector<ConsentItem>& items, bool offline_access, bool wildcard);

std::string ErrorPage(const std::string& title, const std::string& message);

// The member's connected-apps page around an already-escaped body.
std::string ManagePage(const std::string& escaped_body);

// An operator page (/admin) around an already-escaped body.
std::string AdminPage(const std::string& title, const std::string& escaped_body);

// A page response with the headers every server-rendered page carries: no caching, no framing
// (X-Frame-Options, CSP frame-ancestors 'none'), no scripts (CSP), nosniff, no referrer.
http::Response HtmlResponse(int status, std::string body);

}  // namespace portico::oauth
