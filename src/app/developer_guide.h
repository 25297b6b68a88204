// The app developer guide (docs/api.md, built into the binary) rendered as an HTML page.
#pragma once

#include <string>
#include <string_view>

namespace portico::app {

// Renders the small Markdown subset the guide uses: headings, paragraphs, lists, tables, fenced
// code, inline code, bold and links. All text is HTML-escaped.
std::string MarkdownToHtml(std::string_view markdown);

// The guide page, with `{base}` replaced by the server's public base URL.
std::string DeveloperGuidePage(const std::string& base_url);

}  // namespace portico::app
