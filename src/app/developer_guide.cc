#include "src/app/developer_guide.h"

#include <vector>

#include "src/base/strings.h"
#include "src/fhir/search/builtin_data.h"
#include "src/oauth/pages.h"

namespace portico::app {

namespace {

// Inline markup on an escaped line: `code`, **bold**, [text](url).
std::string Inline(std::string_view raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] == '`') {
      size_t end = raw.find('`', i + 1);
      if (end != std::string_view::npos) {
        out += "<code>" + oauth::HtmlEscape(raw.substr(i + 1, end - i - 1)) + "</code>";
        i = end + 1;
        continue;
      }
    }
    if (raw.substr(i, 2) == "**") {
      size_t end = raw.find("**", i + 2);
      if (end != std::string_view::npos) {
        out += "<strong>" + Inline(raw.substr(i + 2, end - i - 2)) + "</strong>";
        i = end + 2;
        continue;
      }
    }
    if (raw[i] == '[') {
      size_t close = raw.find("](", i);
      size_t end = close == std::string_view::npos ? close : raw.find(')', close);
      if (close != std::string_view::npos && end != std::string_view::npos) {
        std::string_view url = raw.substr(close + 2, end - close - 2);
        if (base::StartsWith(url, "http") || base::StartsWith(url, "/")) {
          out += "<a href=\"" + oauth::HtmlEscape(url) + "\">" +
                 Inline(raw.substr(i + 1, close - i - 1)) + "</a>";
        } else {
          out += Inline(raw.substr(i + 1, close - i - 1));
        }
        i = end + 1;
        continue;
      }
    }
    out += oauth::HtmlEscape(raw.substr(i, 1));
    ++i;
  }
  return out;
}

std::vector<std::string_view> Cells(std::string_view row) {
  row = base::Trim(row);
  if (!row.empty() && row.front() == '|') {
    row.remove_prefix(1);
  }
  if (!row.empty() && row.back() == '|') {
    row.remove_suffix(1);
  }
  std::vector<std::string_view> cells;
  size_t start = 0;
  for (size_t i = 0; i <= row.size(); ++i) {
    if (i == row.size() || (row[i] == '|' && (i == 0 || row[i - 1] != '\\'))) {
      cells.push_back(base::Trim(row.substr(start, i - start)));
      start = i + 1;
    }
  }
  return cells;
}

}  // namespace

std::string MarkdownToHtml(std::string_view md) {
  std::vector<std::string_view> lines = base::Split(md, '\n');
  std::string out;
  std::string paragraph;
  std::string list;  // "ul" or "ol" while inside a list
  auto flush = [&] {
    if (!paragraph.empty()) {
      out += "<p>" + Inline(paragraph) + "</p>\n";
      paragraph.clear();
    }
    if (!list.empty()) {
      out += "</" + list + ">\n";
      list.clear();
    }
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::string_view t = base::Trim(line);
    if (base::StartsWith(t, "```")) {
      flush();
      out += "<pre><code>";
      for (++i; i < lines.size() && !base::StartsWith(base::Trim(lines[i]), "```"); ++i) {
        out += oauth::HtmlEscape(lines[i]) + "\n";
      }
      out += "</code></pre>\n";
      continue;
    }
    if (t.empty()) {
      flush();
      continue;
    }
    if (t[0] == '#') {
      flush();
      size_t level = t.find_first_not_of('#');
      level = std::min<size_t>(level == std::string_view::npos ? 1 : level, 4);
      out += "<h" + std::to_string(level) + ">" + Inline(base::Trim(t.substr(level))) + "</h" +
             std::to_string(level) + ">\n";
      continue;
    }
    if (t[0] == '|') {
      flush();
      out += "<table>\n";
      bool header = true;
      for (; i < lines.size() && !base::Trim(lines[i]).empty() && base::Trim(lines[i])[0] == '|';
           ++i) {
        std::string_view row = base::Trim(lines[i]);
        if (row.find("---") != std::string_view::npos && row.find_first_not_of("|-: ") ==
                                                            std::string_view::npos) {
          continue;
        }
        out += "<tr>";
        for (std::string_view cell : Cells(row)) {
          std::string c(cell);
          size_t pos = 0;
          while ((pos = c.find("\\|", pos)) != std::string::npos) {
            c.replace(pos, 2, "|");
            ++pos;
          }
          out += header ? "<th>" + Inline(c) + "</th>" : "<td>" + Inline(c) + "</td>";
        }
        out += "</tr>\n";
        header = false;
      }
      out += "</table>\n";
      --i;
      continue;
    }
    bool bullet = base::StartsWith(t, "- ");
    size_t dot = t.find(". ");
    bool numbered = dot != std::string_view::npos && dot > 0 && dot < 4 &&
                    t.find_first_not_of("0123456789") == dot;
    if (bullet || numbered) {
      if (!paragraph.empty()) {
        out += "<p>" + Inline(paragraph) + "</p>\n";
        paragraph.clear();
      }
      std::string kind = bullet ? "ul" : "ol";
      if (list != kind) {
        if (!list.empty()) {
          out += "</" + list + ">\n";
        }
        out += "<" + kind + ">\n";
        list = kind;
      }
      std::string item(bullet ? t.substr(2) : t.substr(dot + 2));
      // Continuation lines of the same item are indented.
      while (i + 1 < lines.size() && base::StartsWith(lines[i + 1], "  ") &&
             !base::Trim(lines[i + 1]).empty()) {
        item += " " + std::string(base::Trim(lines[++i]));
      }
      out += "<li>" + Inline(item) + "</li>\n";
      continue;
    }
    if (!list.empty() && base::StartsWith(line, "  ")) {
      continue;
    }
    if (!list.empty()) {
      out += "</" + list + ">\n";
      list.clear();
    }
    paragraph += (paragraph.empty() ? "" : " ") + std::string(t);
  }
  flush();
  return out;
}

std::string DeveloperGuidePage(const std::string& base_url) {
  std::string md(fhir::builtin::DeveloperGuideMd());
  size_t pos = 0;
  while ((pos = md.find("{base}", pos)) != std::string::npos) {
    md.replace(pos, 6, base_url);
    pos += base_url.size();
  }
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\""
         " content=\"width=device-width, initial-scale=1\"><title>Portico: app developer "
         "guide</title><style>body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem "
         "auto;padding:0 1rem;line-height:1.5}pre{background:#f4f4f4;padding:.7rem;overflow:auto}"
         "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .5rem;"
         "vertical-align:top;text-align:left}code{font-size:.9em}</style></head><body>\n" +
         MarkdownToHtml(md) + "</body></html>\n";
}

}  // namespace portico::app
