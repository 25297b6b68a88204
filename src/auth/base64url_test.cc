#include "src/auth/base64url.h"

#include <string>

#include <gtest/gtest.h>

namespace portico::auth {
namespace {

struct Vector {
  std::string raw;
  std::string url;
  std::string std;
};

// RFC 4648 section 10 test vectors.
const Vector kVectors[] = {
    {"", "", ""},
    {"f", "Zg", "Zg=="},
    {"fo", "Zm8", "Zm8="},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg", "Zm9vYg=="},
    {"fooba", "Zm9vYmE", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {std::string("\xfb\xff", 2), "-_8", "+/8="},
};

TEST(Base64UrlTest, Rfc4648Vectors) {
  for (const Vector& v : kVectors) {
    EXPECT_EQ(Base64UrlEncode(v.raw), v.url);
    EXPECT_EQ(Base64Encode(v.raw), v.std);
    StatusOr<std::string> url = Base64UrlDecode(v.url);
    ASSERT_TRUE(url.ok()) << v.url << ": " << url.status().ToString();
    EXPECT_EQ(*url, v.raw);
    StatusOr<std::string> std = Base64Decode(v.std);
    ASSERT_TRUE(std.ok()) << v.std << ": " << std.status().ToString();
    EXPECT_EQ(*std, v.raw);
  }
}

TEST(Base64UrlTest, RoundTripsAllLengthsAndBytes) {
  std::string data;
  for (int i = 0; i < 300; ++i) {
    data.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
    StatusOr<std::string> back = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
    StatusOr<std::string> back_std = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(back_std.ok());
    EXPECT_EQ(*back_std, data);
  }
}

TEST(Base64UrlTest, UrlDecodeRejectsMalformedInput) {
  const char* kBad[] = {
      "Zg==",    // Padding is forbidden in JOSE.
      "Zm9v=",   // Stray padding.
      "Z",       // Impossible length.
      "Zm9vY",   // Impossible length.
      "Zh",      // Non-zero unused bits (non-canonical "f").
      "Zm9=",    // Padding.
      "Zm+v",    // Standard alphabet '+'.
      "Zm/v",    // Standard alphabet '/'.
      "Zm9v\n",  // Whitespace.
      "Zm 9v",   // Space.
      "Zm9v.",   // Separator.
  };
  for (const char* s : kBad) {
    StatusOr<std::string> r = Base64UrlDecode(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(Base64UrlTest, StandardDecodeRejectsMalformedInput) {
  const char* kBad[] = {
      "Zg",        // Missing padding.
      "Zg=",       // Length not a multiple of 4.
      "Z===",      // Too much padding.
      "Zm=v",      // Padding in the middle.
      "=Zm9",      // Padding first.
      "Zg==Zg==",  // Padding before more data.
      "Zh==",      // Non-canonical trailing bits.
      "Zm8A=",     // Bad length.
      "-_8=",      // URL alphabet.
      "Zm9v\r\n",
      "Zm9=",  // Padding where none is needed ("Zm9" needs one pad only if 2 bytes: this is 3).
  };
  for (const char* s : kBad) {
    EXPECT_FALSE(Base64Decode(s).ok()) << s;
  }
  // Sanity: "Zm8=" (2 bytes) is accepted while "Zm9=" has non-zero trailing bits.
  EXPECT_TRUE(Base64Decode("Zm8=").ok());
}

TEST(Base64UrlTest, ErrorsDoNotEchoInput) {
  StatusOr<std::string> r = Base64UrlDecode("secretSECRET+");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace portico::auth
