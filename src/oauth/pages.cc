#include "src/oauth/pages.h"

namespace portico::oauth {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

std::string Page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         HtmlEscape(title) +
         "</title><style>"
         "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
         "color:#1b1b1b;line-height:1.45}"
         "h1{font-size:1.4rem}label{display:block;margin:.6rem 0}"
         "input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;"
         "box-sizing:border-box}"
         "button{font-size:1rem;padding:.55rem 1.2rem;margin:.8rem .6rem 0 0;cursor:pointer}"
         ".error{color:#b00020;font-weight:600}.note{background:#fff4e5;padding:.6rem;"
         "border-left:4px solid #e07b00}.scope{margin:.5rem 0;padding:.4rem;border:1px solid #ddd}"
         ".scope code{font-size:.8rem;color:#555}"
         "</style></head><body>" +
         body + "</body></html>\n";
}

std::string Hidden(const std::string& tx, const std::string& csrf) {
  return "<input type=\"hidden\" name=\"tx\" value=\"" + HtmlEscape(tx) +
         "\"><input type=\"hidden\" name=\"csrf\" value=\"" + HtmlEscape(csrf) + "\">";
}

}  // namespace

std::string LoginPage(const std::string& action, const std::string& tx, const std::string& csrf,
                      const std::string& app_name, const std::string& error) {
  std::string body = "<h1>Sign in to your health plan</h1><p><strong>" + HtmlEscape(app_name) +
                     "</strong> is asking to connect to your health plan records.</p>";
  if (!error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + HtmlEscape(error) + "</p>";
  }
  body += "<form method=\"post\" action=\"" + HtmlEscape(action) + "\">" + Hidden(tx, csrf) +
          "<label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\" "
          "required autofocus></label>"
          "<label>Password <input type=\"password\" name=\"password\" "
          "autocomplete=\"current-password\" required></label>"
          "<button type=\"submit\">Sign in</button></form>";
  return Page("Sign in", body);
}

std::string PickerPage(const std::string& action, const std::string& tx, const std::string& csrf,
                       const std::string& app_name, const std::vector<PickerChoice>& choices,
                       const std::string& error) {
  std::string body =
      "<h1>Whose records?</h1><p>You may act for more than one member. Choose "
      "whose records <strong>" +
      HtmlEscape(app_name) + "</strong> may see.</p>";
  if (!error.empty()) {
    body += "<p class=\"error\" role=\"alert\">" + HtmlEscape(error) + "</p>";
  }
  body += "<form method=\"post\" action=\"" + HtmlEscape(action) + "\">" + Hidden(tx, csrf);
  bool first = true;
  for (const PickerChoice& c : choices) {
    body += "<label><input type=\"radio\" name=\"patient\" value=\"" + HtmlEscape(c.patient_id) +
            "\"" + (first ? " checked" : "") + "> " + HtmlEscape(c.label) + "</label>";
    first = false;
  }
  body += "<button type=\"submit\">Continue</button></form>";
  return Page("Choose a member", body);
}

std::string ConsentPage(const std::string& action, const std::string& tx, const std::string& csrf,
                        const std::string& app_name, const std::string& patient_label,
                        const std::vector<ConsentItem>& items, bool offline_access, bool wildcard) {
  std::string body = "<h1>Allow " + HtmlEscape(app_name) + " to access your records?</h1>";
  body += "<p>The app is asking for access to the records of <strong>" + HtmlEscape(patient_label) +
          "</strong>. Untick anything you do not want to share. You can revoke access later.</p>";
  if (offline_access) {
    body +=
        "<p class=\"note\"><strong>Long-lived access:</strong> this app asks to keep access "
        "when you are not using it (offline access). It can keep reading your records for "
        "months, until you revoke it.</p>";
  }
  if (wildcard) {
    body +=
        "<p class=\"note\"><strong>All types of data:</strong> a request below covers every "
        "type of health record, including types added in the future.</p>";
  }
  body += "<form method=\"post\" action=\"" + HtmlEscape(action) + "\">" + Hidden(tx, csrf);
  for (const ConsentItem& item : items) {
    body += "<div class=\"scope\"><label><input type=\"checkbox\" name=\"scope\" value=\"" +
            HtmlEscape(item.scope) + "\" checked> " + HtmlEscape(item.description) +
            "</label><code>" + HtmlEscape(item.scope) + "</code></div>";
  }
  body +=
      "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"
      "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>";
  return Page("Allow access", body);
}

std::string ManagePage(const std::string& escaped_body) {
  return Page("Your connected apps",
              "<style>table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid "
              "#ddd;padding:.3rem;text-align:left;vertical-align:top}ul{margin:0;"
              "padding-left:1rem}body{max-width:60rem}</style>" +
                  escaped_body);
}

std::string AdminPage(const std::string& title, const std::string& escaped_body) {
  return Page(title,
              "<style>table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid "
              "#ddd;padding:.3rem;text-align:left;vertical-align:top}body{max-width:60rem}"
              "textarea{width:100%;font-size:1rem;box-sizing:border-box}"
              "input[type=url],input[type=email]{width:100%;padding:.5rem;font-size:1rem;"
              "box-sizing:border-box}fieldset{margin:.8rem 0}.secret{font-family:monospace;"
              "background:#eef;padding:.4rem;word-break:break-all}"
              ".status-suspended,.status-pending{color:#b00020;font-weight:600}"
              "form.inline{display:inline}</style>" +
                  escaped_body);
}

http::Response HtmlResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "text/html; charset=utf-8");
  r.SetHeader("Cache-Control", "no-store");
  r.SetHeader("X-Frame-Options", "DENY");
  r.SetHeader("X-Content-Type-Options", "nosniff");
  r.SetHeader("Referrer-Policy", "no-referrer");
  r.SetHeader("Content-Security-Policy",
              "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
              "base-uri 'none'");
  return r;
}

std::string ErrorPage(const std::string& title, const std::string& message) {
  return Page(title, "<h1>" + HtmlEscape(title) + "</h1><p class=\"error\">" + HtmlEscape(message) +
                         "</p>");
}

}  // namespace portico::oauth
