#include "src/fhir/model/profile_checker.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "src/app/demo_data.h"
#include "src/base/strings.h"
#include "src/fhir/search/builtin_data.h"

namespace portico::fhir {
namespace {

namespace fs = std::filesystem;

using Severity = ValidationIssue::Severity;

const ProfileRegistry& Registry() {
  static const std::shared_ptr<const ProfileRegistry> registry = [] {
    auto loaded = ProfileRegistry::LoadBuiltin();
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? *loaded : nullptr;
  }();
  return *registry;
}

json::Value MustParse(std::string_view text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << v.status().message() << "\n" << text;
  return v.ok() ? std::move(v).value() : json::Value();
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::vector<ValidationIssue> Check(std::string_view text) {
  return CheckProfiles(Registry(), MustParse(text));
}

std::string Dump(const std::vector<ValidationIssue>& issues) {
  std::string out;
  for (const ValidationIssue& i : issues) {
    out +=
        (i.severity == Severity::kError ? "error " : "warning ") + i.path + ": " + i.message + "\n";
  }
  return out;
}

bool HasIssueAt(const std::vector<ValidationIssue>& issues, std::string_view path,
                Severity severity = Severity::kError) {
  for (const ValidationIssue& i : issues) {
    if (i.path == path && i.severity == severity) {
      return true;
    }
  }
  return false;
}

constexpr char kUsCore[] = "http://hl7.org/fhir/us/core/StructureDefinition/";

TEST(ProfileRegistry, EveryDeclaredProfileIsKnown) {
  auto doc = json::Parse(builtin::ServerResourcesJson());
  ASSERT_TRUE(doc.ok());
  int declared = 0;
  for (const json::Value& r : doc->Find("resources")->array()) {
    for (const json::Value& url : r.Find("profiles")->array()) {
      ++declared;
      const ProfileRegistry::Profile* p = Registry().Find(url.str());
      ASSERT_NE(p, nullptr) << url.str();
      EXPECT_EQ(p->type, r.GetString("type")) << url.str();
    }
  }
  EXPECT_GE(declared, 40);
}

TEST(ProfileRegistry, IgnoresVersionSuffixAndMergesParents) {
  const ProfileRegistry::Profile* p =
      Registry().Find("http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient|1.0.0");
  ASSERT_NE(p, nullptr);
  bool has_gender = false;  // from us-core-patient
  for (const auto& r : p->required) {
    has_gender = has_gender || (r.path == "gender" && r.from == "us-core-patient");
  }
  EXPECT_TRUE(has_gender);
  EXPECT_EQ(Registry().Find("http://example.org/StructureDefinition/x"), nullptr);
}

TEST(ProfileRegistry, RejectsBadData) {
  EXPECT_FALSE(ProfileRegistry::Load("[]").ok());
  EXPECT_FALSE(ProfileRegistry::Load(R"({"valueSets":{},"profiles":[{"url":"u","type":"Patient",
      "bindings":[{"path":"gender","valueSet":"nope"}]}]})")
                   .ok());
  EXPECT_FALSE(ProfileRegistry::Load(R"({"valueSets":{},"profiles":[
      {"url":"a","type":"Patient","parent":"b"},{"url":"b","type":"Patient","parent":"a"}]})")
                   .ok());
  EXPECT_FALSE(ProfileRegistry::Load(R"({"valueSets":{},"profiles":[
      {"url":"a","type":"Patient","required":["name..family"]}]})")
                   .ok());
  EXPECT_TRUE(ProfileRegistry::Load(R"({"valueSets":{"g":[{"codes":["male"]}]},"profiles":[
      {"url":"a","type":"Patient","required":["name"],"bindings":[{"path":"gender",
      "valueSet":"g"}]}]})")
                  .ok());
}

TEST(CheckProfiles, NoProfileNothingToSay) {
  EXPECT_TRUE(Check(R"({"resourceType":"Patient","id":"a"})").empty());
}

TEST(CheckProfiles, UnknownProfileIsAWarning) {
  auto issues = Check(R"({"resourceType":"Patient","meta":{"profile":[
      "http://example.org/fhir/StructureDefinition/other"]}})");
  ASSERT_EQ(issues.size(), 1u) << Dump(issues);
  EXPECT_EQ(issues[0].severity, Severity::kWarning);
  EXPECT_EQ(issues[0].path, "Patient.meta.profile[0]");
  EXPECT_FALSE(HasErrors(issues));
}

TEST(CheckProfiles, ProfileOfAnotherType) {
  auto issues = Check(R"({"resourceType":"Patient","meta":{"profile":[
      "http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition"]}})");
  EXPECT_TRUE(HasIssueAt(issues, "Patient.meta.profile[0]")) << Dump(issues);
}

TEST(CheckProfiles, UsCorePatient) {
  std::string good = std::string(R"({"resourceType":"Patient","id":"p","meta":{"profile":[")") +
                     kUsCore + R"(us-core-patient"]},
      "identifier":[{"system":"urn:x","value":"1"}],"name":[{"family":"F"}],"gender":"female"})";
  EXPECT_TRUE(Check(good).empty()) << Dump(Check(good));
  auto issues = Check(std::string(R"({"resourceType":"Patient","meta":{"profile":[")") + kUsCore +
                      R"(us-core-patient"]},"identifier":[{"system":"urn:x","value":"1"},
      {"value":"2"}],"gender":"girl","telecom":[{"system":"phone","value":"1","use":"cell"}]})");
  EXPECT_TRUE(HasIssueAt(issues, "Patient.identifier[1].system")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "Patient.name")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "Patient.gender")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "Patient.telecom[0].use")) << Dump(issues);
  EXPECT_FALSE(HasIssueAt(issues, "Patient.identifier[0].system")) << Dump(issues);
  EXPECT_EQ(issues.size(), 4u) << Dump(issues);
}

TEST(CheckProfiles, ChoiceAndExtensionOnlyPrimitive) {
  std::string head = std::string(R"({"resourceType":"Immunization","meta":{"profile":[")") +
                     kUsCore + R"(us-core-immunization"]},"status":"completed",
      "vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"187"}]},
      "patient":{"reference":"Patient/p"},"primarySource":true)";
  EXPECT_TRUE(Check(head + R"(,"occurrenceString":"last spring"})").empty());
  EXPECT_TRUE(Check(head + R"(,"_occurrenceDateTime":{"extension":[{"url":
      "http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}})")
                  .empty());
  auto issues = Check(head + "}");
  EXPECT_TRUE(HasIssueAt(issues, "Immunization.occurrence[x]")) << Dump(issues);
}

TEST(CheckProfiles, VitalSignCodeAndCategory) {
  std::string obs = R"({"resourceType":"Observation","meta":{"profile":[
      "http://hl7.org/fhir/StructureDefinition/resprate"]},"status":"final",
      "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",
      "code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"CODE"}]},
      "subject":{"reference":"Patient/p"},"effectiveDateTime":"2020-01-01"})";
  EXPECT_TRUE(Check(Replace(obs, "CODE", "9279-1")).empty());
  auto issues = Check(Replace(obs, "CODE", "9279-2"));
  ASSERT_EQ(issues.size(), 1u) << Dump(issues);
  EXPECT_EQ(issues[0].path, "Observation.code");
  EXPECT_NE(issues[0].message.find("http://loinc.org|9279-1"), std::string::npos);
  issues = Check(Replace(Replace(obs, "CODE", "9279-1"), "vital-signs", "exam"));
  EXPECT_TRUE(HasIssueAt(issues, "Observation.category")) << Dump(issues);
}

TEST(CheckProfiles, CarinEobTypeSlicesAndBindings) {
  std::string eob = R"({"resourceType":"ExplanationOfBenefit","meta":{"profile":[
      "http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Pharmacy"]},
      "identifier":[{"type":{"coding":[{"code":"uc"}]},"value":"1"}],"status":"active",
      "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type",
      "code":"professional"}]},"use":"claim","patient":{"reference":"Patient/p"},
      "created":"2020-01-01","insurer":{"reference":"Organization/o"},
      "provider":{"reference":"Organization/o"},"outcome":"complete",
      "insurance":[{"focal":true,"coverage":{"reference":"Coverage/c"}}],
      "payment":{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/ex-paymenttype",
      "code":"complete"}]}},"total":[{"category":{"coding":[{"code":"benefit"}]},
      "amount":{"value":1,"currency":"USD"}}]})";
  auto issues = Check(eob);
  EXPECT_TRUE(HasIssueAt(issues, "ExplanationOfBenefit.type")) << Dump(issues);  // not pharmacy
  EXPECT_TRUE(HasIssueAt(issues, "ExplanationOfBenefit.supportingInfo.category")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "ExplanationOfBenefit.payment.type")) << Dump(issues);
  EXPECT_FALSE(HasIssueAt(issues, "ExplanationOfBenefit.use")) << Dump(issues);
}

TEST(CheckProfiles, CheckProfileIgnoresMetaProfile) {
  const ProfileRegistry::Profile* p = Registry().Find(std::string(kUsCore) + "us-core-condition");
  ASSERT_NE(p, nullptr);
  auto issues = CheckProfile(*p, MustParse(R"({"resourceType":"Condition",
      "clinicalStatus":{"text":"active"}})"));
  EXPECT_TRUE(HasIssueAt(issues, "Condition.code")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "Condition.category")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "Condition.subject")) << Dump(issues);
  EXPECT_TRUE(HasIssueAt(issues, "Condition.clinicalStatus")) << Dump(issues);
}

// The demo data set declares a profile on (almost) every resource; all of them must conform.
TEST(CheckProfiles, DemoDataConforms) {
  app::DemoOptions options;
  options.members = 3;
  int checked = 0;
  for (const app::DemoResource& d : app::GenerateDemoData(options)) {
    json::Value r = MustParse(d.json);
    ++checked;
    auto issues = CheckProfiles(Registry(), r);
    EXPECT_TRUE(issues.empty()) << r.GetString("resourceType") << "/" << r.GetString("id") << ":\n"
                                << Dump(issues);
  }
  EXPECT_GT(checked, 100);
}

// Every shared fixture that names a profile we know conforms, except the CMS BFD samples (which
// follow a later CARIN BB and fail base validation anyway).
TEST(CheckProfiles, SharedFixturesConform) {
  fs::path dir;
  for (const fs::path& p :
       {fs::path(std::getenv("PORTICO_SOURCE_DIR") != nullptr ? std::getenv("PORTICO_SOURCE_DIR")
                                                              : ".") /
            ".." / "shared" / "fixtures"}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      dir = p;
      break;
    }
  }
  if (dir.empty()) {
    FAIL() << "the shared fixtures (../shared/fixtures beside the checkout) are required";
  }
  int checked = 0;
  std::function<void(const json::Value&, const std::string&)> visit = [&](const json::Value& r,
                                                                          const std::string& file) {
    if (r.GetString("resourceType") == "Bundle") {
      if (const json::Value* entries = r.Find("entry"); entries != nullptr) {
        for (const json::Value& e : entries->array()) {
          if (const json::Value* res = e.Find("resource"); res != nullptr) {
            visit(*res, file);
          }
        }
      }
      return;
    }
    ++checked;
    auto issues = CheckProfiles(Registry(), r);
    EXPECT_FALSE(HasErrors(issues))
        << file << " " << r.GetString("resourceType") << "/" << r.GetString("id") << ":\n"
        << Dump(issues);
  };
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json" ||
        entry.path().string().find("cms-bfd-v2") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    visit(MustParse(text.str()), entry.path().string());
  }
  EXPECT_GT(checked, 2000);
}

}  // namespace
}  // namespace portico::fhir
