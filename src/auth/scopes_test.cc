#include "src/auth/scopes.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico::auth {
namespace {

constexpr char kLabCategory[] =
    "http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

struct ParseCase {
  const char* text;
  Context context;
  const char* type;
  const char* perms;  // Subset of "cruds".
  bool v2;
  ScopeConstraints constraints;
};

std::string Perms(const ResourceScope& s) {
  std::string out;
  if (s.c) {
    out += 'c';
  }
  if (s.r) {
    out += 'r';
  }
  if (s.u) {
    out += 'u';
  }
  if (s.d) {
    out += 'd';
  }
  if (s.s) {
    out += 's';
  }
  return out;
}

TEST(ScopesTest, ParsesValidResourceScopes) {
  const ParseCase kCases[] = {
      // v1.
      {"patient/Observation.read", Context::kPatient, "Observation", "rs", false, {}},
      {"patient/*.read", Context::kPatient, "*", "rs", false, {}},
      {"user/Encounter.write", Context::kUser, "Encounter", "cud", false, {}},
      {"system/*.*", Context::kSystem, "*", "cruds", false, {}},
      {"user/Patient.*", Context::kUser, "Patient", "cruds", false, {}},
      // v2.
      {"patient/Observation.rs", Context::kPatient, "Observation", "rs", true, {}},
      {"patient/Observation.cruds", Context::kPatient, "Observation", "cruds", true, {}},
      {"patient/Observation.r", Context::kPatient, "Observation", "r", true, {}},
      {"user/Condition.cud", Context::kUser, "Condition", "cud", true, {}},
      {"system/*.s", Context::kSystem, "*", "s", true, {}},
      {"patient/*.cd", Context::kPatient, "*", "cd", true, {}},
      // Granular.
      {"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
       "observation-category|laboratory",
       Context::kPatient,
       "Observation",
       "rs",
       true,
       {{"category", kLabCategory}}},
      {"patient/Observation.rs?category=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2F"
       "observation-category%7Claboratory",
       Context::kPatient,
       "Observation",
       "rs",
       true,
       {{"category", kLabCategory}}},
      {"user/Condition.rs?category=problem-list-item&clinical-status=active",
       Context::kUser,
       "Condition",
       "rs",
       true,
       {{"category", "problem-list-item"}, {"clinical-status", "active"}}},
      {"patient/Observation.rs?code%3Ain=http%3A%2F%2Fvs%20x",
       Context::kPatient,
       "Observation",
       "rs",
       true,
       {{"code:in", "http://vs x"}}},
  };
  for (const ParseCase& c : kCases) {
    ResourceScope scope;
    ASSERT_TRUE(ParseResourceScope(c.text, scope)) << c.text;
    EXPECT_EQ(scope.context, c.context) << c.text;
    EXPECT_EQ(scope.type, c.type) << c.text;
    EXPECT_EQ(Perms(scope), c.perms) << c.text;
    EXPECT_EQ(scope.v2, c.v2) << c.text;
    EXPECT_EQ(scope.constraints, c.constraints) << c.text;
  }
}

TEST(ScopesTest, RejectsInvalidResourceScopes) {
  const char* kBad[] = {
      "",
      "patient",
      "patient/",
      "patient/Observation",
      "patient/Observation.",
      "patient/.read",
      "patient/.rs",
      "Patient/Observation.read",
      "practitioner/Observation.read",
      "patient/observation.read",  // Types start upper-case.
      "patient/Obs3rvation.read",
      "patient/Observation.Read",
      "patient/Observation.readwrite",
      "patient/Observation.rx",  // Unknown letter.
      "patient/Observation.sr",  // Out of order.
      "patient/Observation.rr",  // Repeated.
      "patient/Observation.scrud",
      "patient/Observation.dc",
      "patient/Observation.v",
      "patient/Observation.**",
      "patient/Observation.r.s",
      "patient/Observation.rs?",                       // Empty query.
      "patient/Observation.rs?category",               // No '='.
      "patient/Observation.rs?=laboratory",            // Empty name.
      "patient/Observation.rs?category=",              // Empty value.
      "patient/Observation.rs?category=a&",            // Empty pair.
      "patient/Observation.rs?category=%zz",           // Bad escape.
      "patient/Observation.read?category=laboratory",  // Granular needs v2.
      "patient/Observation.*?category=laboratory",
      "patient/Observation.rs\"",  // Not a scope-token character.
      "patient/Obs\xc3\xa9rvation.rs",
  };
  for (const char* text : kBad) {
    ResourceScope scope;
    EXPECT_FALSE(ParseResourceScope(text, scope)) << text;
  }
}

TEST(ScopesTest, ParseScopeStringClassifies) {
  ScopeSet set = ParseScopeString(
      "openid fhirUser  launch/patient patient/Observation.rs offline_access "
      "patient/Observation.rs patient/*.read bogus patient/Observation.sr bogus launch "
      "online_access profile launch/encounter");
  ASSERT_EQ(set.resources.size(), 2u);  // Duplicate removed.
  EXPECT_EQ(set.resources[0].type, "Observation");
  EXPECT_EQ(set.resources[1].type, "*");
  EXPECT_EQ(set.others,
            (std::set<std::string>{"fhirUser", "launch", "launch/encounter", "launch/patient",
                                   "offline_access", "online_access", "openid", "profile"}));
  EXPECT_EQ(set.invalid, (std::vector<std::string>{"bogus", "patient/Observation.sr"}));
  EXPECT_TRUE(set.Has("openid"));
  EXPECT_FALSE(set.Has("bogus"));
  EXPECT_EQ(set.ToString(),
            "patient/Observation.rs patient/*.read fhirUser launch launch/encounter "
            "launch/patient offline_access online_access openid profile");

  ScopeSet empty = ParseScopeString("   ");
  EXPECT_TRUE(empty.resources.empty());
  EXPECT_TRUE(empty.others.empty());
  EXPECT_TRUE(empty.invalid.empty());
  EXPECT_EQ(empty.ToString(), "");
}

TEST(ScopesTest, ToStringRoundTrips) {
  const std::string lab = std::string("patient/Observation.rs?category=") + kLabCategory;
  const std::string kScopes[] = {
      "patient/Observation.read",
      "user/*.write",
      "system/*.*",
      "patient/Observation.rs",
      "patient/Observation.cruds",
      lab,
      "user/Condition.rs?category=problem-list-item&clinical-status=active",
      "patient/Observation.rs?code=a%26b%3Dc%25d%2B",
  };
  for (const std::string& text : kScopes) {
    ResourceScope scope;
    ASSERT_TRUE(ParseResourceScope(text, scope)) << text;
    EXPECT_EQ(ToString(scope), text);
    ResourceScope again;
    ASSERT_TRUE(ParseResourceScope(ToString(scope), again));
    EXPECT_EQ(again, scope);
  }
  // Percent-encoded input is re-emitted in canonical (minimal) form.
  ResourceScope scope;
  ASSERT_TRUE(ParseResourceScope("patient/Observation.rs?category=%6Caboratory", scope));
  EXPECT_EQ(ToString(scope), "patient/Observation.rs?category=laboratory");
  // A v1 scope whose permissions are not a v1 set is printed in v2 form.
  ResourceScope manual;
  manual.type = "Observation";
  manual.r = true;
  EXPECT_EQ(ToString(manual), "patient/Observation.r");
}

TEST(ScopesTest, AllowsAndConstraints) {
  ScopeSet set = ParseScopeString(
      "patient/Observation.rs?category=" + std::string(kLabCategory) +
      " patient/Observation.rs?category=vital-signs patient/Condition.read user/*.rs "
      "patient/Encounter.c system/Patient.s");

  EXPECT_TRUE(Allows(set, Context::kPatient, "Observation", Interaction::kRead));
  EXPECT_TRUE(Allows(set, Context::kPatient, "Observation", Interaction::kSearch));
  EXPECT_FALSE(Allows(set, Context::kPatient, "Observation", Interaction::kCreate));
  EXPECT_TRUE(Allows(set, Context::kPatient, "Condition", Interaction::kSearch));
  EXPECT_FALSE(Allows(set, Context::kPatient, "Condition", Interaction::kUpdate));
  EXPECT_FALSE(Allows(set, Context::kPatient, "Procedure", Interaction::kRead));
  EXPECT_TRUE(Allows(set, Context::kUser, "Procedure", Interaction::kRead));  // Wildcard.
  EXPECT_FALSE(Allows(set, Context::kUser, "Procedure", Interaction::kDelete));
  EXPECT_TRUE(Allows(set, Context::kPatient, "Encounter", Interaction::kCreate));
  EXPECT_FALSE(Allows(set, Context::kPatient, "Encounter", Interaction::kRead));
  EXPECT_TRUE(Allows(set, Context::kSystem, "Patient", Interaction::kSearch));
  EXPECT_FALSE(Allows(set, Context::kSystem, "Patient", Interaction::kRead));
  EXPECT_FALSE(Allows(set, Context::kSystem, "Observation", Interaction::kSearch));

  AccessConstraints obs =
      ConstraintsFor(set, Context::kPatient, "Observation", Interaction::kSearch);
  EXPECT_TRUE(obs.allowed);
  EXPECT_FALSE(obs.unconstrained);
  ASSERT_EQ(obs.any_of.size(), 2u);
  EXPECT_EQ(obs.any_of[0], (ScopeConstraints{{"category", kLabCategory}}));
  EXPECT_EQ(obs.any_of[1], (ScopeConstraints{{"category", "vital-signs"}}));

  AccessConstraints cond = ConstraintsFor(set, Context::kPatient, "Condition", Interaction::kRead);
  EXPECT_TRUE(cond.allowed);
  EXPECT_TRUE(cond.unconstrained);
  EXPECT_TRUE(cond.any_of.empty());

  AccessConstraints none =
      ConstraintsFor(set, Context::kPatient, "Observation", Interaction::kDelete);
  EXPECT_FALSE(none.allowed);
  EXPECT_FALSE(none.unconstrained);

  // Union semantics: adding an unconstrained scope for the type lifts the constraints.
  ScopeSet wider = set;
  wider.resources.push_back(ParseScopeString("patient/Observation.s").resources.front());
  AccessConstraints search =
      ConstraintsFor(wider, Context::kPatient, "Observation", Interaction::kSearch);
  EXPECT_TRUE(search.unconstrained);
  EXPECT_TRUE(search.any_of.empty());
  // ... but only for the interaction it grants.
  AccessConstraints read =
      ConstraintsFor(wider, Context::kPatient, "Observation", Interaction::kRead);
  EXPECT_FALSE(read.unconstrained);
  EXPECT_EQ(read.any_of.size(), 2u);
  // A constrained wildcard also constrains.
  ScopeSet wild = ParseScopeString("patient/*.rs?_security=N");
  AccessConstraints w = ConstraintsFor(wild, Context::kPatient, "Goal", Interaction::kRead);
  EXPECT_TRUE(w.allowed);
  EXPECT_FALSE(w.unconstrained);
  ASSERT_EQ(w.any_of.size(), 1u);
}

TEST(ScopesTest, Narrow) {
  ScopeSet granted = ParseScopeString(
      "openid fhirUser offline_access patient/Observation.rs patient/Condition.r "
      "patient/Condition.s patient/Encounter.rs?type=inpatient user/*.read");
  struct Case {
    const char* requested;
    const char* covered;  // ToString of the narrowed set.
    std::vector<std::string> uncovered;
  };
  const Case kCases[] = {
      {"openid patient/Observation.rs", "patient/Observation.rs openid", {}},
      {"patient/Observation.r", "patient/Observation.r", {}},
      {"patient/Observation.read", "patient/Observation.read", {}},  // v1 form kept.
      {"patient/Observation.cruds", "", {"patient/Observation.cruds"}},
      {"patient/Observation.rs?category=laboratory",
       "patient/Observation.rs?category=laboratory",
       {}},                                                    // Narrower than granted.
      {"patient/Condition.rs", "patient/Condition.rs", {}},    // Split across two grants.
      {"patient/Encounter.rs", "", {"patient/Encounter.rs"}},  // Broader than granted.
      {"patient/Encounter.rs?type=inpatient&class=IMP",
       "patient/Encounter.rs?type=inpatient&class=IMP",
       {}},
      {"patient/Encounter.r?type=outpatient", "", {"patient/Encounter.r?type=outpatient"}},
      {"user/Procedure.rs user/*.s", "user/Procedure.rs user/*.s", {}},
      {"patient/Procedure.rs", "", {"patient/Procedure.rs"}},  // Context must match.
      {"system/*.rs", "", {"system/*.rs"}},
      {"user/*.write", "", {"user/*.write"}},
      {"launch/patient profile", "", {"launch/patient", "profile"}},
      {"offline_access junk", "offline_access", {"junk"}},
  };
  for (const Case& c : kCases) {
    ScopeSet narrowed = Narrow(ParseScopeString(c.requested), granted);
    EXPECT_EQ(narrowed.ToString(), c.covered) << c.requested;
    EXPECT_EQ(narrowed.invalid, c.uncovered) << c.requested;
  }
}

TEST(ScopesTest, Describe) {
  ResourceScope lab;
  ASSERT_TRUE(
      ParseResourceScope("patient/Observation.rs?category=" + std::string(kLabCategory), lab));
  EXPECT_EQ(Describe(lab), "Read and search your lab results (Observation, category laboratory)");

  ResourceScope all;
  ASSERT_TRUE(ParseResourceScope("patient/*.read", all));
  EXPECT_EQ(Describe(all),
            "Read and search all current and future types of your health data "
            "(all resource types)");

  ResourceScope eob;
  ASSERT_TRUE(ParseResourceScope("patient/ExplanationOfBenefit.read", eob));
  EXPECT_EQ(Describe(eob),
            "Read and search your claims and explanations of benefit (ExplanationOfBenefit)");

  ResourceScope cov;
  ASSERT_TRUE(ParseResourceScope("user/Coverage.cruds", cov));
  EXPECT_EQ(Describe(cov),
            "Create, read, update, delete and search insurance coverage you are allowed to "
            "access (Coverage)");

  ResourceScope sys;
  ASSERT_TRUE(ParseResourceScope("system/Observation.s?code=http://loinc.org|1234-5", sys));
  EXPECT_EQ(Describe(sys),
            "Search observations such as lab results and vital signs for any patient, without a "
            "signed-in user (Observation, limited to code 1234-5)");

  ResourceScope write;
  ASSERT_TRUE(ParseResourceScope("patient/*.write", write));
  EXPECT_EQ(Describe(write),
            "Create, update and delete all current and future types of your health data "
            "(all resource types)");

  // Every US Core / CARIN type has a friendly name rather than the fallback.
  for (const char* type : {"AllergyIntolerance",
                           "CarePlan",
                           "CareTeam",
                           "Condition",
                           "Coverage",
                           "Device",
                           "DiagnosticReport",
                           "DocumentReference",
                           "Encounter",
                           "ExplanationOfBenefit",
                           "Goal",
                           "Immunization",
                           "Location",
                           "Medication",
                           "MedicationDispense",
                           "MedicationRequest",
                           "Observation",
                           "Organization",
                           "Patient",
                           "Practitioner",
                           "PractitionerRole",
                           "Procedure",
                           "Provenance",
                           "QuestionnaireResponse",
                           "RelatedPerson",
                           "ServiceRequest",
                           "Specimen"}) {
    std::string name = FriendlyResourceName(type);
    EXPECT_EQ(name.find(" records"), std::string::npos) << type;
    EXPECT_EQ(name.find(type), std::string::npos) << type;
  }
  EXPECT_EQ(FriendlyResourceName("ExplanationOfBenefit"), "claims and explanations of benefit");
  EXPECT_EQ(FriendlyResourceName("Coverage"), "insurance coverage");
  EXPECT_EQ(FriendlyResourceName("Basic"), "Basic records");

  EXPECT_FALSE(DescribeOther("offline_access").empty());
  EXPECT_FALSE(DescribeOther("openid").empty());
  EXPECT_EQ(DescribeOther("bogus"), "");
}

}  // namespace
}  // namespace portico::auth
