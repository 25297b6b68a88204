#include "src/authz/authorizer.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace portico::authz {
namespace {

constexpr const char* kBase = "https://fhir.example/fhir";
constexpr const char* kLab =
    "http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reg = fhir::SearchParamRegistry::LoadBuiltin();
    ASSERT_TRUE(reg.ok()) << reg.status().message();
    registry_ = *reg;
  }

  static Principal Member(const std::string& scope, const std::string& patient = "p1") {
    Principal p;
    p.subject = "member";
    p.patient = patient;
    p.grant_id = "g";
    p.scope = scope;
    p.scopes = auth::ParseScopeString(scope);
    return p;
  }

  StatusOr<fhir::AccessScope> Auth(const Principal& p, const std::string& type, Access a) {
    return Authorize(p, type, a, *registry_, kBase);
  }

  static bool Allowed(const fhir::AccessScope& s, const std::string& type) {
    return s.allowed_types.empty() ||
           std::find(s.allowed_types.begin(), s.allowed_types.end(), type) !=
               s.allowed_types.end();
  }

  static const fhir::AccessScope::Granular* GranularFor(const fhir::AccessScope& s,
                                                        const std::string& type) {
    for (const auto& g : s.granular) {
      if (g.type == type) {
        return &g;
      }
    }
    return nullptr;
  }

  std::shared_ptr<const fhir::SearchParamRegistry> registry_;
};

TEST_F(AuthorizerTest, PatientTokenIsConfinedToItsPatient) {
  auto s = Auth(Member("patient/*.read"), "Observation", Access::kSearch);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->unrestricted);
  EXPECT_EQ(s->patient_ids, std::vector<std::string>{"p1"});
  EXPECT_TRUE(s->allowed_types.empty());  // every type, still inside the compartment
  EXPECT_TRUE(s->granular.empty());
}

TEST_F(AuthorizerTest, ReadAndSearchLettersAreSeparate) {
  Principal r = Member("patient/Observation.r");
  EXPECT_TRUE(Auth(r, "Observation", Access::kRead).ok());
  EXPECT_EQ(Auth(r, "Observation", Access::kSearch).status().code(),
            StatusCode::kPermissionDenied);
  Principal s = Member("patient/Observation.s");
  EXPECT_EQ(Auth(s, "Observation", Access::kRead).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(Auth(s, "Observation", Access::kSearch).ok());
  EXPECT_EQ(Auth(Member("patient/Observation.cud"), "Observation", Access::kRead).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, TypeNotGrantedIsDeniedAndLeftOutOfIncludes) {
  Principal p = Member("patient/Observation.rs patient/DiagnosticReport.s");
  EXPECT_EQ(Auth(p, "Patient", Access::kRead).status().code(), StatusCode::kPermissionDenied);
  auto s = Auth(p, "Observation", Access::kSearch);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(Allowed(*s, "Observation"));
  EXPECT_TRUE(Allowed(*s, "DiagnosticReport"));
  EXPECT_FALSE(Allowed(*s, "Patient"));
  EXPECT_FALSE(Allowed(*s, "Provenance"));
}

TEST_F(AuthorizerTest, SystemScopesDoNotApplyToAPatientToken) {
  Principal p = Member("system/*.rs");
  EXPECT_EQ(Auth(p, "Observation", Access::kRead).status().code(),
            StatusCode::kPermissionDenied);
  fhir::AccessScope s = ScopeForPrincipal(p, *registry_, kBase);
  EXPECT_FALSE(Allowed(s, "Observation"));
}

TEST_F(AuthorizerTest, NoPatientNeedsASystemScope) {
  Principal none = Member("patient/*.read", "");
  EXPECT_EQ(Auth(none, "Observation", Access::kRead).status().code(),
            StatusCode::kPermissionDenied);
  auto s = Auth(Member("system/*.read", ""), "Observation", Access::kSearch);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->unrestricted);
  auto g = Auth(Member(std::string("system/Observation.rs?category=") + kLab, ""),
                "Observation", Access::kSearch);
  ASSERT_TRUE(g.ok());
  ASSERT_NE(GranularFor(*g, "Observation"), nullptr);  // constraints apply to operators too
}

TEST_F(AuthorizerTest, GranularScopesAreAUnionAndAPlainScopeOverrides) {
  std::string lab = std::string("patient/Observation.rs?category=") + kLab;
  auto one = Auth(Member(lab), "Observation", Access::kSearch);
  ASSERT_TRUE(one.ok());
  ASSERT_NE(GranularFor(*one, "Observation"), nullptr);
  EXPECT_EQ(GranularFor(*one, "Observation")->alternatives.size(), 1u);
  auto two = Auth(Member(lab + " patient/Observation.rs?category=vital-signs"), "Observation",
                  Access::kRead);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(GranularFor(*two, "Observation")->alternatives.size(), 2u);
  auto plain = Auth(Member(lab + " patient/Observation.rs"), "Observation", Access::kSearch);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(GranularFor(*plain, "Observation"), nullptr);
}

TEST_F(AuthorizerTest, GranularConstraintsFollowIncludedTypes) {
  // Observation is reached only through includes here; its constraint still applies, also when
  // the granular scope grants search only.
  for (std::string perm : {"rs", "s", "r"}) {
    Principal p = Member("patient/DiagnosticReport.rs patient/Observation." + perm +
                         "?category=" + kLab);
    auto s = Auth(p, "DiagnosticReport", Access::kSearch);
    ASSERT_TRUE(s.ok()) << perm;
    EXPECT_TRUE(Allowed(*s, "Observation")) << perm;
    ASSERT_NE(GranularFor(*s, "Observation"), nullptr) << perm;
    EXPECT_EQ(GranularFor(*s, "DiagnosticReport"), nullptr) << perm;
  }
}

TEST_F(AuthorizerTest, ConstraintsThatCannotBeEvaluatedGrantNothing) {
  EXPECT_EQ(Auth(Member("patient/Observation.rs?no-such-param=x"), "Observation",
                 Access::kSearch)
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  // A constrained wildcard reaches only the types the constraint can be evaluated on, and is
  // never read as an unconstrained one.
  Principal p = Member("patient/Patient.rs patient/*.rs?no-such-param=x");
  auto s = Auth(p, "Patient", Access::kSearch);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(Allowed(*s, "Patient"));
  EXPECT_FALSE(s->allowed_types.empty());
  EXPECT_FALSE(Allowed(*s, "Observation"));
  EXPECT_FALSE(Allowed(*s, "Provenance"));
  Principal c = Member(std::string("patient/*.rs?category=") + kLab);
  auto obs = Auth(c, "Observation", Access::kSearch);
  ASSERT_TRUE(obs.ok());
  ASSERT_NE(GranularFor(*obs, "Observation"), nullptr);
  EXPECT_FALSE(Allowed(*obs, "Patient"));  // Patient has no `category` parameter
  EXPECT_EQ(Auth(c, "Patient", Access::kRead).status().code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace portico::authz
