#include "src/oauth/client_metadata.h"

#include <gtest/gtest.h>

namespace portico::oauth {
namespace {

json::Value ParseOrDie(std::string_view text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *v : json::Value();
}

std::optional<MetadataError> Apply(std::string_view text, store::Client& c,
                                   MetadataMode mode = MetadataMode::kCreate,
                                   MetadataPolicy policy = {}) {
  return ApplyClientMetadata(ParseOrDie(text), mode, policy, c);
}

TEST(ClientMetadataTest, RedirectUris) {
  struct Case {
    const char* uri;
    bool ok;
  };
  for (const Case& c : std::vector<Case>{
           {"https://app.example/cb", true},
           {"https://app.example:8443/cb?x=1", true},
           {"http://localhost:3000/cb", true},
           {"http://127.0.0.1/cb", true},
           {"http://LOCALHOST/cb", true},
           {"http://app.example/cb", false},  // http only for loopback
           {"http://127.0.0.2/cb", false},
           {"http://localhost.evil.example/cb", false},
           {"https://app.example/cb#frag", false},  // no fragments
           {"https://app.example/c b", false},
           {"https://user@app.example/cb", false},  // no user info
           {"https://app.example:0/cb", false},
           {"https://app.example:99999/cb", false},
           {"https://-bad.example/cb", false},
           {"https:///cb", false},
           {"javascript:alert(1)", false},
           {"com.example.app:/cb", false},
           {"/relative/cb", false},
           {"", false},
       }) {
    std::string why;
    EXPECT_EQ(IsValidRedirectUri(c.uri, &why), c.ok) << c.uri;
    EXPECT_EQ(why.empty(), c.ok) << c.uri << ": " << why;
  }
  EXPECT_FALSE(IsValidRedirectUri("https://app.example/" + std::string(2000, 'a')));
}

TEST(ClientMetadataTest, Emails) {
  for (const char* ok : {"dev@app.example", "first.last+tag@mail.app.example"}) {
    EXPECT_TRUE(IsPlausibleEmail(ok)) << ok;
  }
  for (const char* bad : {"", "dev", "dev@", "@app.example", "dev@app", "dev@@app.example",
                          "de v@app.example", "dev@app..example", ".dev@app.example",
                          "dev@-app.example", "dev@app.example>", "<dev@app.example"}) {
    EXPECT_FALSE(IsPlausibleEmail(bad)) << bad;
  }
}

TEST(ClientMetadataTest, CreateAppliesEveryField) {
  store::Client c;
  auto err = Apply(R"({
    "client_name": "Blue Lantern",
    "redirect_uris": ["https://app.example/cb", "https://app.example/cb"],
    "client_uri": "https://app.example/",
    "policy_uri": "https://app.example/privacy",
    "tos_uri": "https://app.example/terms",
    "logo_uri": "https://app.example/logo.png",
    "contacts": ["dev@app.example"],
    "scope": "patient/*.read launch/patient",
    "token_endpoint_auth_method": "none",
    "attestation": {"sells_data": false, "privacy_policy_published": true},
    "software_statement_unknown_member": 1
  })",
                   c);
  ASSERT_FALSE(err.has_value()) << err->description;
  EXPECT_EQ(c.name, "Blue Lantern");
  EXPECT_EQ(c.type, store::ClientType::kPublic);
  EXPECT_EQ(c.redirect_uris, std::vector<std::string>{"https://app.example/cb"});
  EXPECT_EQ(c.policy_uri, "https://app.example/privacy");
  EXPECT_EQ(c.contacts, std::vector<std::string>{"dev@app.example"});
  // Answers are kept in the questions' order.
  EXPECT_EQ(c.attestation, R"({"privacy_policy_published":true,"sells_data":false})");
  json::Value out = ClientMetadataJson(c);
  EXPECT_EQ(out.GetString("token_endpoint_auth_method"), "none");
  EXPECT_EQ(out.GetString("status"), "active");
  EXPECT_EQ(out.Find("client_secret"), nullptr);
  EXPECT_EQ(out.Find("attestation")->Find("sells_data")->bool_value(), false);
}

TEST(ClientMetadataTest, DefaultsToClientSecretBasic) {
  store::Client c;
  ASSERT_FALSE(Apply(R"({"client_name":"A","redirect_uris":["https://a.example/cb"]})", c));
  EXPECT_EQ(c.type, store::ClientType::kConfidentialSymmetric);
  Registration reg = PrepareRegistration(
      ParseOrDie(R"({"client_name":"A","redirect_uris":["https://a.example/cb"]})"), {},
      "operator:olga", store::ClientStatus::kActive, 5000);
  ASSERT_FALSE(reg.error.has_value());
  EXPECT_GE(reg.created.secret.size(), 40u);
  EXPECT_FALSE(reg.created.client.client_id.empty());
  EXPECT_NE(reg.created.client.secret_hash.find('$'), std::string::npos);
  EXPECT_EQ(reg.created.client.secret_hash.find(reg.created.secret), std::string::npos);
  EXPECT_EQ(reg.created.client.registered_by, "operator:olga");
  json::Value resp = RegistrationResponse(reg.created);
  EXPECT_EQ(resp.GetString("client_secret"), reg.created.secret);
  EXPECT_EQ(resp.Find("client_id_issued_at")->str(), "5");
  // The plain metadata never carries it.
  EXPECT_EQ(ClientMetadataJson(reg.created.client).Find("client_secret"), nullptr);
}

TEST(ClientMetadataTest, ErrorsNameTheRfcCode) {
  struct Case {
    const char* body;
    const char* error;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"([1])", "invalid_client_metadata"},
          {R"({"redirect_uris":["https://a.example/cb"]})", "invalid_client_metadata"},
          {R"({"client_name":"A"})", "invalid_redirect_uri"},
          {R"({"client_name":"A","redirect_uris":[]})", "invalid_redirect_uri"},
          {R"({"client_name":"A","redirect_uris":"https://a.example/cb"})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["http://a.example/cb"]})",
           "invalid_redirect_uri"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb#x"]})",
           "invalid_redirect_uri"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],"policy_uri":"ftp://x"})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],"contacts":["nope"]})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],"scope":"bogus/x"})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],)"
           R"("token_endpoint_auth_method":"client_secret_jwt"})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],)"
           R"("token_endpoint_auth_method":"private_key_jwt"})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],)"
           R"("jwks_uri":"https://a.example/jwks"})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],)"
           R"("attestation":{"sells_data":"no"}})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],)"
           R"("attestation":{"likes_cats":true}})",
           "invalid_client_metadata"},
          {R"({"client_name":"A","redirect_uris":["https://a.example/cb"],)"
           R"("response_types":["token"]})",
           "invalid_client_metadata"},
          {R"({"client_name":"A\u0007","redirect_uris":["https://a.example/cb"]})",
           "invalid_client_metadata"},
      }) {
    store::Client client;
    auto err = Apply(c.body, client);
    ASSERT_TRUE(err.has_value()) << c.body;
    EXPECT_EQ(err->error, c.error) << c.body << ": " << err->description;
    EXPECT_FALSE(err->description.empty());
  }
}

TEST(ClientMetadataTest, PrivateKeyJwtNeedsUsableKeys) {
  store::Client c;
  auto err = Apply(R"({"client_name":"B","redirect_uris":["https://b.example/cb"],
      "token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[]}})",
                   c);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error, "invalid_client_metadata");
  store::Client d;
  ASSERT_FALSE(Apply(R"({"client_name":"B","redirect_uris":["https://b.example/cb"],
      "token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://b.example/jwks"})",
                     d));
  EXPECT_EQ(d.type, store::ClientType::kConfidentialAsymmetric);
  EXPECT_EQ(d.jwks_url, "https://b.example/jwks");
}

TEST(ClientMetadataTest, DynamicRegistrationIsForMemberAppsOnly) {
  MetadataPolicy dynamic;
  dynamic.member_apps_only = true;
  store::Client c;
  auto err = Apply(R"({"client_name":"C","redirect_uris":["https://c.example/cb"],
      "scope":"system/*.cruds"})",
                   c, MetadataMode::kCreate, dynamic);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error, "invalid_client_metadata");
  err = Apply(R"({"client_name":"C","redirect_uris":["https://c.example/cb"],
      "token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://c.example/jwks",
      "grant_types":["client_credentials"]})",
              c, MetadataMode::kCreate, dynamic);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error, "invalid_client_metadata");
  // The same as an operator is allowed.
  store::Client d;
  EXPECT_FALSE(Apply(R"({"client_name":"C","token_endpoint_auth_method":"private_key_jwt",
      "jwks_uri":"https://c.example/jwks","grant_types":["client_credentials"],
      "scope":"system/*.rs"})",
                     d));
}

TEST(ClientMetadataTest, MergeKeepsAbsentFieldsAndReplaceClearsThem) {
  store::Client c;
  ASSERT_FALSE(Apply(R"({"client_name":"D","redirect_uris":["https://d.example/cb"],
      "policy_uri":"https://d.example/p","contacts":["a@d.example"]})",
                     c));
  ASSERT_FALSE(Apply(R"({"tos_uri":"https://d.example/t"})", c, MetadataMode::kMerge));
  EXPECT_EQ(c.name, "D");
  EXPECT_EQ(c.policy_uri, "https://d.example/p");
  EXPECT_EQ(c.tos_uri, "https://d.example/t");
  EXPECT_EQ(c.contacts.size(), 1u);
  ASSERT_FALSE(Apply(R"({"client_name":"D2","redirect_uris":["https://d.example/cb2"]})", c,
                     MetadataMode::kReplace));
  EXPECT_EQ(c.name, "D2");
  EXPECT_TRUE(c.policy_uri.empty());
  EXPECT_TRUE(c.contacts.empty());
  EXPECT_EQ(c.attestation, "{}");
  // The authentication method is fixed after registration.
  auto err = Apply(R"({"token_endpoint_auth_method":"none"})", c, MetadataMode::kMerge);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error, "invalid_client_metadata");
  EXPECT_FALSE(
      Apply(R"({"token_endpoint_auth_method":"client_secret_post"})", c, MetadataMode::kMerge));
}

TEST(ClientMetadataTest, AttestationQuestionsAreUniqueAndWorded) {
  const auto& qs = AttestationQuestions();
  ASSERT_GE(qs.size(), 4u);
  for (size_t i = 0; i < qs.size(); ++i) {
    EXPECT_FALSE(qs[i].text.empty());
    for (size_t j = i + 1; j < qs.size(); ++j) {
      EXPECT_NE(qs[i].key, qs[j].key);
    }
  }
}

}  // namespace
}  // namespace portico::oauth
