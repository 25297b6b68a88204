#include "src/auth/jwt_claims.h"

#include <string>

#include <gtest/gtest.h>

#include "src/json/json.h"

namespace portico::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr char kIss[] = "https://portico.example/auth";
constexpr char kAud[] = "https://portico.example/fhir";

json::Value Claims(std::string_view extra_members) {
  std::string text = std::string(R"({"iss":")") + kIss + R"(","aud":")" + kAud + "\"";
  if (!extra_members.empty()) {
    text += ",";
    text += extra_members;
  }
  text += "}";
  StatusOr<json::Value> v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : json::Value();
}

json::Value Raw(std::string_view text) {
  StatusOr<json::Value> v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : json::Value();
}

struct Case {
  const char* name;
  json::Value claims;
  int64_t leeway;
  bool ok;
};

TEST(JwtClaimsTest, Table) {
  const std::string exp_ok = R"("exp":1700000300)";
  const Case kCases[] = {
      {"valid", Claims(exp_ok), 0, true},
      {"valid with nbf and iat", Claims(exp_ok + R"(,"nbf":1699999990,"iat":1699999990)"), 0, true},
      {"missing exp", Claims(""), 0, false},
      {"exp equals now", Claims(R"("exp":1700000000)"), 0, false},
      {"expired", Claims(R"("exp":1699999999)"), 0, false},
      {"expired within leeway", Claims(R"("exp":1699999990)"), 30, true},
      {"expired beyond leeway", Claims(R"("exp":1699999960)"), 30, false},
      {"leeway clamped to 300", Claims(R"("exp":1699999000)"), 1'000'000'000, false},
      {"negative leeway is 0", Claims(R"("exp":1700000050)"), -100, true},
      {"fractional exp", Claims(R"("exp":1700000000.5)"), 0, false},
      {"fractional exp future", Claims(R"("exp":1700000001.25)"), 0, true},
      {"exp string", Claims(R"("exp":"1700000300")"), 0, false},
      {"exp exponent", Claims(R"("exp":1.7e9)"), 0, false},
      {"exp negative", Claims(R"("exp":-1)"), 0, false},
      {"exp huge", Claims(R"("exp":99999999999999999999999)"), 0, false},
      {"exp max int64 ok", Claims(R"("exp":9223372036854775807)"), 60, true},
      {"exp null", Claims(R"("exp":null)"), 0, false},
      {"nbf future", Claims(exp_ok + R"(,"nbf":1700000100)"), 0, false},
      {"nbf within leeway", Claims(exp_ok + R"(,"nbf":1700000030)"), 60, true},
      {"nbf string", Claims(exp_ok + R"(,"nbf":"0")"), 0, false},
      {"iat future", Claims(exp_ok + R"(,"iat":1700000100)"), 0, false},
      {"iat future within leeway", Claims(exp_ok + R"(,"iat":1700000010)"), 60, true},
      {"iat after exp", Claims(R"("exp":1700000300,"iat":1700000301)"), 1000, false},
      {"iat bool", Claims(exp_ok + R"(,"iat":true)"), 0, false},
      {"aud array match",
       Raw(std::string(R"({"iss":")") + kIss + R"(","aud":["x",")" + kAud +
           R"("],"exp":1700000300})"),
       0, true},
      {"aud array no match",
       Raw(std::string(R"({"iss":")") + kIss + R"(","aud":["x","y"],"exp":1700000300})"), 0, false},
      {"aud array non-string",
       Raw(std::string(R"({"iss":")") + kIss + R"(","aud":[1,")" + kAud +
           R"("],"exp":1700000300})"),
       0, false},
      {"aud empty array",
       Raw(std::string(R"({"iss":")") + kIss + R"(","aud":[],"exp":1700000300})"), 0, false},
      {"aud wrong", Raw(std::string(R"({"iss":")") + kIss + R"(","aud":"x","exp":1700000300})"), 0,
       false},
      {"aud prefix",
       Raw(std::string(R"({"iss":")") + kIss + R"(","aud":")" + kAud + R"(/x","exp":1700000300})"),
       0, false},
      {"aud missing", Raw(std::string(R"({"iss":")") + kIss + R"(","exp":1700000300})"), 0, false},
      {"aud object", Raw(std::string(R"({"iss":")") + kIss + R"(","aud":{},"exp":1700000300})"), 0,
       false},
      {"iss wrong",
       Raw(std::string(R"({"iss":"https://evil","aud":")") + kAud + R"(","exp":1700000300})"), 0,
       false},
      {"iss missing", Raw(std::string(R"({"aud":")") + kAud + R"(","exp":1700000300})"), 0, false},
      {"iss number", Raw(std::string(R"({"iss":1,"aud":")") + kAud + R"(","exp":1700000300})"), 0,
       false},
      {"not an object", Raw("[]"), 0, false},
  };
  for (const Case& c : kCases) {
    Status s = ValidateClaims(c.claims, kIss, kAud, kNow, c.leeway);
    EXPECT_EQ(s.ok(), c.ok) << c.name << ": " << s.ToString();
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << c.name;
      EXPECT_EQ(s.message().find("evil"), std::string::npos) << c.name;
    }
  }
}

TEST(JwtClaimsTest, MissingExpectationsFailClosed) {
  json::Value claims = Claims(R"("exp":1700000300)");
  EXPECT_TRUE(ValidateClaims(claims, kIss, kAud, kNow, 0).ok());
  Status no_iss = ValidateClaims(claims, "", kAud, kNow, 0);
  EXPECT_EQ(no_iss.code(), StatusCode::kInternal);
  Status no_aud = ValidateClaims(claims, kIss, "", kNow, 0);
  EXPECT_EQ(no_aud.code(), StatusCode::kInternal);
}

TEST(JwtClaimsTest, GetNumericDate) {
  json::Value claims = Raw(R"({"a":12,"b":12.9,"c":"12","d":-5,"e":1E3})");
  StatusOr<std::optional<int64_t>> a = GetNumericDate(claims, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(**a, 12);
  StatusOr<std::optional<int64_t>> b = GetNumericDate(claims, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**b, 12);
  StatusOr<std::optional<int64_t>> missing = GetNumericDate(claims, "zz");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_FALSE(GetNumericDate(claims, "c").ok());
  EXPECT_FALSE(GetNumericDate(claims, "d").ok());
  EXPECT_FALSE(GetNumericDate(claims, "e").ok());
}

}  // namespace
}  // namespace portico::auth
