#include "src/app/developer_guide.h"

#include <gtest/gtest.h>

namespace portico::app {
namespace {

TEST(DeveloperGuideTest, RendersTheMarkdownSubsetAndEscapes) {
  std::string html = MarkdownToHtml(
      "# Title\n\nSome `code` and **bold** <script>.\n\n- one\n- two\n\n| a | b |\n|---|---|\n"
      "| `x\\|y` | 2 |\n\n```\n<tag>\n```\n");
  EXPECT_NE(html.find("<h1>Title</h1>"), std::string::npos);
  EXPECT_NE(html.find("<code>code</code>"), std::string::npos);
  EXPECT_NE(html.find("<strong>bold</strong>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("<li>two</li>"), std::string::npos);
  EXPECT_NE(html.find("<th>a</th>"), std::string::npos);
  EXPECT_NE(html.find("<code>x|y</code>"), std::string::npos);
  EXPECT_NE(html.find("<pre><code>&lt;tag&gt;"), std::string::npos);
}

TEST(DeveloperGuideTest, GuidePageNamesTheServersUrls) {
  std::string page = DeveloperGuidePage("https://api.example.test");
  EXPECT_NE(page.find("https://api.example.test/oauth/token"), std::string::npos);
  EXPECT_EQ(page.find("{base}"), std::string::npos);
  EXPECT_NE(page.find("Access rules"), std::string::npos);
}

}  // namespace
}  // namespace portico::app
