#include "src/fhir/model/validator.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace portico::fhir {
namespace {

namespace fs = std::filesystem;

// Tests run with the repository root as working directory (or PORTICO_SOURCE_DIR set).
fs::path SourceDir() {
  const char* dir = std::getenv("PORTICO_SOURCE_DIR");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::current_path();
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const ElementModel& Model() {
  static const std::shared_ptr<const ElementModel> model = [] {
    std::string text = ReadFile(SourceDir() / "data" / "elements.json");
    auto loaded = ElementModel::Load(text);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? *loaded : nullptr;
  }();
  return *model;
}

fs::path FixturesDir() {
  for (const fs::path& p :
       {SourceDir() / ".." / "shared" / "fixtures"}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      return p;
    }
  }
  return {};
}

json::Value MustParse(std::string_view text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << v.status().message() << "\n" << text;
  return v.ok() ? std::move(v).value() : json::Value();
}

std::vector<ValidationIssue> Validate(std::string_view text, int max_issues = 20) {
  return ValidateResource(Model(), MustParse(text), max_issues);
}

std::string Describe(const std::vector<ValidationIssue>& issues) {
  std::string out;
  for (const auto& i : issues) {
    out += "  " + i.path + ": " + i.message + "\n";
  }
  return out;
}

bool HasIssue(const std::vector<ValidationIssue>& issues, std::string_view path,
              std::string_view message_part = "") {
  for (const auto& i : issues) {
    if (i.path == path && i.message.find(message_part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// The fixtures that are not valid base R4 (see shared/fixtures/README.md), each with a
// predicate on the issue that must be reported.
struct Expected {
  std::string_view suffix;    // the issue path ends with this
  std::string_view contains;  // ... and contains this
};

const std::map<std::string, std::vector<Expected>>& InvalidFixtures() {
  static const auto* kInvalid = new std::map<std::string, std::vector<Expected>>{
      {"carin-bb/cms-bfd-v2/coverageRead.json", {{"Coverage.meta.lastUpdated", ""}}},
      {"carin-bb/cms-bfd-v2/coverageSearchByPatientId.json",
       {{"resource.ofType(Coverage).meta.lastUpdated", "entry[0]"}}},
      {"carin-bb/cms-bfd-v2/eobByPatientIdAll.json",
       {{"resource.ofType(ExplanationOfBenefit).meta.lastUpdated", "entry[0]"},
        {"resource.ofType(ExplanationOfBenefit).created", "entry[0]"}}},
      {"carin-bb/cms-bfd-v2/eobReadCarrier.json",
       {{"ExplanationOfBenefit.meta.lastUpdated", ""}, {"ExplanationOfBenefit.created", ""}}},
      {"carin-bb/cms-bfd-v2/eobReadInpatient.json",
       {{"ExplanationOfBenefit.meta.lastUpdated", ""}, {"ExplanationOfBenefit.created", ""}}},
      {"carin-bb/cms-bfd-v2/eobReadOutpatient.json",
       {{"ExplanationOfBenefit.meta.lastUpdated", ""}, {"ExplanationOfBenefit.created", ""}}},
      {"carin-bb/cms-bfd-v2/eobReadPde.json",
       {{"ExplanationOfBenefit.meta.lastUpdated", ""}, {"ExplanationOfBenefit.created", ""}}},
      {"carin-bb/cms-bfd-v2/patientRead.json", {{"Patient.meta.lastUpdated", ""}}},
      {"us-core/DiagnosticReport-cardiology-report.json",
       {{"DiagnosticReport.presentedForm[0].hash", ""}}},
      {"synthea/inferno-reference-server/e91975f5-9445-c11f-cabf-c3c6dae161f2.json",
       {{"ofType(Device).udiCarrier[0].carrierAIDC", "Bundle.entry["}}},
  };
  return *kInvalid;
}

std::vector<fs::path> FixtureFiles(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ElementModelTest, LoadsAllResourceTypes) {
  std::string types = ReadFile(SourceDir() / "data" / "resource-types.txt");
  std::istringstream in(types);
  std::string name;
  int count = 0;
  while (in >> name) {
    EXPECT_NE(Model().FindResourceType(name), nullptr) << name;
    ++count;
  }
  EXPECT_EQ(count, 146);
  EXPECT_EQ(Model().FindResourceType("DomainResource"), nullptr);
  EXPECT_EQ(Model().FindResourceType("HumanName"), nullptr);
  for (const char* t : {"Extension",
                        "Meta",
                        "Narrative",
                        "Reference",
                        "Identifier",
                        "Age",
                        "Distance",
                        "Duration",
                        "Count",
                        "SimpleQuantity",
                        "MoneyQuantity",
                        "Money",
                        "SampledData",
                        "Timing",
                        "Dosage",
                        "ElementDefinition",
                        "MarketingStatus",
                        "Population",
                        "ProdCharacteristic",
                        "ProductShelfLife",
                        "SubstanceAmount",
                        "Patient.contact",
                        "xhtml"}) {
    EXPECT_NE(Model().FindType(t), nullptr) << t;
  }
}

TEST(ElementModelTest, RejectsBadData) {
  EXPECT_FALSE(ElementModel::Load("{}").ok());
  EXPECT_FALSE(ElementModel::Load(R"({"types": {"X": {"kind": "complex", "base": "Nope"}}})").ok());
  EXPECT_FALSE(ElementModel::Load(
                   R"({"types": {"X": {"kind": "complex", "elements": {"a": {"type": ["Q"]}}}}})")
                   .ok());
  EXPECT_FALSE(ElementModel::Load(R"({"types": {"foo": {"kind": "primitive"}}})").ok());
}

TEST(ElementModelTest, SummaryElements) {
  std::vector<std::string> s = Model().SummaryElements("Patient");
  auto has = [&](std::string_view n) { return std::find(s.begin(), s.end(), n) != s.end(); };
  EXPECT_TRUE(has("id"));
  EXPECT_TRUE(has("meta"));
  EXPECT_TRUE(has("identifier"));
  EXPECT_TRUE(has("birthDate"));
  EXPECT_TRUE(has("deceased[x]"));
  EXPECT_FALSE(has("text"));
  EXPECT_FALSE(has("contact"));
  EXPECT_FALSE(has("photo"));
  EXPECT_TRUE(Model().IsSummaryKey("Patient", "deceasedDateTime"));
  EXPECT_TRUE(Model().IsSummaryKey("Patient", "_birthDate"));
  EXPECT_TRUE(Model().IsSummaryKey("Patient", "resourceType"));
  EXPECT_FALSE(Model().IsSummaryKey("Patient", "contact"));
  EXPECT_FALSE(Model().IsSummaryKey("Patient", "nope"));
  EXPECT_TRUE(Model().SummaryElements("NoSuchType").empty());
}

TEST(ValidatorTest, MinimalResourcesAreValid) {
  EXPECT_TRUE(Validate(R"({"resourceType": "Patient"})").empty());
  auto issues = Validate(R"({
    "resourceType": "Patient", "id": "p-1.x",
    "meta": {"lastUpdated": "2020-01-02T03:04:05.123+05:30", "profile": ["http://x/y"]},
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
    "extension": [{"url": "http://e", "valueCodeableConcept": {"text": "t"}},
                  {"url": "http://f", "extension": [{"url": "a", "valueInteger": -3}]}],
    "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.1", "value": "123"}],
    "name": [{"family": "Doe", "given": ["Jo", null], "_given": [null, {"extension": [
      {"url": "http://g", "valueString": "x"}]}]}],
    "gender": "female", "_gender": {"id": "g1"},
    "birthDate": "1970-02", "deceasedDateTime": "2020-02-29T23:59:60Z",
    "multipleBirthInteger": 2,
    "contact": [{"name": {"text": "Mom"}}],
    "photo": [{"contentType": "image/png", "data": "iVBORw0KGgo=", "size": 0}]
  })");
  EXPECT_TRUE(issues.empty()) << Describe(issues);
}

TEST(ValidatorTest, UnknownElement) {
  auto issues = Validate(R"({"resourceType": "Patient", "foo": 1, "name": [{"bar": "x"}]})");
  EXPECT_TRUE(HasIssue(issues, "Patient.foo", "unknown element")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.name[0].bar", "unknown element")) << Describe(issues);
  // `_name` is only allowed beside primitives.
  issues = Validate(R"({"resourceType": "Patient", "_name": {"id": "x"}})");
  EXPECT_TRUE(HasIssue(issues, "Patient._name", "unknown element")) << Describe(issues);
  // fhir_comments is tolerated.
  EXPECT_TRUE(Validate(R"({"resourceType": "Patient", "fhir_comments": ["c"]})").empty());
}

TEST(ValidatorTest, UnknownResourceType) {
  auto issues = Validate(R"({"resourceType": "Patient2"})");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_NE(issues[0].message.find("unknown resourceType"), std::string::npos);
  EXPECT_FALSE(Validate(R"({"id": "x"})").empty());
  EXPECT_FALSE(Validate(R"({"resourceType": "DomainResource"})").empty());
  EXPECT_FALSE(Validate(R"([1])").empty());
}

TEST(ValidatorTest, WrongJsonKind) {
  auto issues = Validate(
      R"({"resourceType": "Patient", "active": "true", "birthDate": 1970, "name": [{"text": 5}],
          "multipleBirthInteger": "2", "telecom": [{"rank": 1.5}], "maritalStatus": "M"})");
  EXPECT_TRUE(HasIssue(issues, "Patient.active", "JSON boolean")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.birthDate", "JSON string")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.name[0].text", "JSON string")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.multipleBirthInteger", "JSON number")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.telecom[0].rank", "invalid positiveInt"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.maritalStatus", "expected an object")) << Describe(issues);
}

TEST(ValidatorTest, ArrayCardinality) {
  auto issues = Validate(R"({"resourceType": "Patient", "gender": ["male"],
                             "name": {"family": "x"}, "identifier": []})");
  EXPECT_TRUE(HasIssue(issues, "Patient.gender", "found an array")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.name", "expected an array")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.identifier", "empty array")) << Describe(issues);
}

TEST(ValidatorTest, ChoiceTypes) {
  auto issues = Validate(
      R"({"resourceType": "Patient", "deceasedBoolean": true, "deceasedDateTime": "2020"})");
  EXPECT_TRUE(HasIssue(issues, "Patient.deceasedDateTime", "more than one type"))
      << Describe(issues);
  // A value and its `_` sibling of the same choice type are fine; an undeclared type is not.
  EXPECT_TRUE(Validate(R"({"resourceType": "Patient", "deceasedBoolean": true,
                           "_deceasedBoolean": {"id": "a"}})")
                  .empty());
  issues = Validate(R"({"resourceType": "Patient", "deceasedString": "yes", "deceased": true})");
  EXPECT_TRUE(HasIssue(issues, "Patient.deceasedString", "unknown element")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.deceased", "unknown element")) << Describe(issues);
}

TEST(ValidatorTest, PrimitiveFormats) {
  auto issues = Validate(R"({"resourceType": "Observation", "id": "bad id!",
      "status": "final", "code": {"text": "x"},
      "meta": {"lastUpdated": "2020-01-02T03:04Z"},
      "effectiveDateTime": "2020-02-30",
      "issued": "2020-01-02",
      "valueTime": "25:00:00",
      "language": " en",
      "implicitRules": "http://a b",
      "component": [{"code": {"text": "c"}, "valueInteger": 2147483648}],
      "referenceRange": [{"text": "   "}]})",
                         50);
  EXPECT_TRUE(HasIssue(issues, "Observation.id", "invalid id")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.meta.lastUpdated", "invalid instant"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.effectiveDateTime", "invalid dateTime"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.issued", "invalid instant")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.valueTime", "invalid time")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.language", "invalid code")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.implicitRules", "invalid uri")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.component[0].valueInteger", "out of range"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.referenceRange[0].text", "non-whitespace"))
      << Describe(issues);
}

TEST(ValidatorTest, PrimitiveText) {
  using K = PrimitiveKind;
  for (const char* ok : {"2020", "2020-01", "2020-12-31", "2020-02-29T00:00:00Z",
                         "2021-06-01T12:30:59.999-04:00", "0001-01-01T00:00:00+14:00"}) {
    EXPECT_EQ(CheckPrimitiveText(K::kDateTime, ok), "") << ok;
  }
  for (const char* bad : {"0000", "2020-1", "2020-13", "2021-02-29", "2020-01-01T10:00Z",
                          "2020-01-01T10:00:00", "2020-01-01T24:00:00Z", "2020-01-01 10:00:00Z",
                          "2020-01-01T10:00:00+14:30", "IGNORED_FIELD", "2020-01-01T10:00:00.Z"}) {
    EXPECT_NE(CheckPrimitiveText(K::kDateTime, bad), "") << bad;
  }
  EXPECT_EQ(CheckPrimitiveText(K::kInstant, "2015-02-07T13:28:17.239+02:00"), "");
  EXPECT_NE(CheckPrimitiveText(K::kInstant, "2015-02-07"), "");
  EXPECT_NE(CheckPrimitiveText(K::kDate, "2015-02-07T13:28:17Z"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kTime, "13:28:17.5"), "");
  EXPECT_NE(CheckPrimitiveText(K::kTime, "13:28"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kInteger, "-2147483648"), "");
  EXPECT_NE(CheckPrimitiveText(K::kInteger, "1e3"), "");
  EXPECT_NE(CheckPrimitiveText(K::kPositiveInt, "0"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kUnsignedInt, "0"), "");
  EXPECT_NE(CheckPrimitiveText(K::kUnsignedInt, "-1"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kDecimal, "-0.50e+10"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kOid, "urn:oid:2.16.840.1.113883"), "");
  EXPECT_NE(CheckPrimitiveText(K::kOid, "urn:oid:2.016"), "");
  EXPECT_NE(CheckPrimitiveText(K::kOid, "2.16.840"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kUuid, "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"), "");
  EXPECT_NE(CheckPrimitiveText(K::kUuid, "urn:uuid:C757873D-EC9A-4326-A141-556F43239520"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kCode, "a b"), "");
  EXPECT_NE(CheckPrimitiveText(K::kCode, "a  b"), "");
  EXPECT_NE(CheckPrimitiveText(K::kCode, "a "), "");
  EXPECT_EQ(CheckPrimitiveText(K::kBase64Binary, "aGk/+A=="), "");
  EXPECT_NE(CheckPrimitiveText(K::kBase64Binary, "EQH/..AgME"), "");
  EXPECT_EQ(CheckPrimitiveText(K::kBase64Binary, "aGk="), "");
  EXPECT_NE(CheckPrimitiveText(K::kBase64Binary, "aGk"), "");
  EXPECT_NE(CheckPrimitiveText(K::kBase64Binary, "a==="), "");
  EXPECT_NE(CheckPrimitiveText(K::kBase64Binary, "aG=k"), "");
}

TEST(ValidatorTest, EmptyValues) {
  auto issues = Validate(
      R"({"resourceType": "Patient", "gender": "", "name": [{}], "maritalStatus": {},
          "_birthDate": {}})");
  EXPECT_TRUE(HasIssue(issues, "Patient.gender", "empty string")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.name[0]", "empty object")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.maritalStatus", "empty object")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient._birthDate", "empty object")) << Describe(issues);
  issues = Validate(R"({"resourceType": "Patient", "birthDate": null,
                        "name": [{"given": [null]}]})");
  EXPECT_TRUE(HasIssue(issues, "Patient.birthDate")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Patient.name[0].given[0]", "null")) << Describe(issues);
}

TEST(ValidatorTest, InvalidBase64) {
  auto issues = Validate(R"({"resourceType": "Binary", "contentType": "text/plain",
                             "data": "aGVsbG8\nd29ybGQ="})");
  EXPECT_TRUE(HasIssue(issues, "Binary.data", "whitespace")) << Describe(issues);
  issues = Validate(R"({"resourceType": "Binary", "contentType": "text/plain", "data": "a$=="})");
  EXPECT_TRUE(HasIssue(issues, "Binary.data", "base64")) << Describe(issues);
}

TEST(ValidatorTest, MissingRequired) {
  auto issues = Validate(R"({"resourceType": "Observation", "code": {"text": "x"},
      "extension": [{"valueString": "x"}], "component": [{"valueString": "v"}]})");
  EXPECT_TRUE(HasIssue(issues, "Observation.status", "missing required")) << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.extension[0].url", "missing required"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Observation.component[0].code", "missing required"))
      << Describe(issues);
  // Only the extension sibling of a required primitive counts as present.
  EXPECT_TRUE(Validate(R"({"resourceType": "Observation", "code": {"text": "x"},
      "_status": {"extension": [{"url": "http://x", "valueCode": "y"}]}})")
                  .empty());
}

TEST(ValidatorTest, ExtensionValueOrExtensions) {
  auto issues = Validate(R"({"resourceType": "Patient", "extension": [{"url": "http://x"}]})");
  EXPECT_TRUE(HasIssue(issues, "Patient.extension[0]", "ext-1")) << Describe(issues);
  issues = Validate(R"({"resourceType": "Patient", "extension": [{"url": "http://x",
      "valueBoolean": true, "extension": [{"url": "y", "valueBoolean": false}]}]})");
  EXPECT_TRUE(HasIssue(issues, "Patient.extension[0]", "ext-1")) << Describe(issues);
}

TEST(ValidatorTest, NestedResources) {
  auto issues = Validate(R"({"resourceType": "Bundle", "type": "collection", "entry": [
      {"fullUrl": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520",
       "resource": {"resourceType": "Patient", "birthDate": "1970-13-01"}},
      {"resource": {"resourceType": "Nope"}},
      {"resource": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/1"}, "medicationReference": {"reference": "#m"},
        "contained": [{"resourceType": "Medication", "id": "m", "code": {"text": 1}}]}},
      {"request": {"method": "GET"}}]})");
  EXPECT_TRUE(
      HasIssue(issues, "Bundle.entry[0].resource.ofType(Patient).birthDate", "invalid date"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Bundle.entry[1].resource", "unknown resourceType"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues,
                       "Bundle.entry[2].resource.ofType(MedicationRequest).contained[0]."
                       "ofType(Medication).code.text",
                       "JSON string"))
      << Describe(issues);
  EXPECT_TRUE(HasIssue(issues, "Bundle.entry[3].request.url", "missing required"))
      << Describe(issues);
  issues = Validate(R"({"resourceType": "Bundle"})");
  EXPECT_TRUE(HasIssue(issues, "Bundle.type", "missing required")) << Describe(issues);
}

TEST(ValidatorTest, StopsAtMaxIssues) {
  std::string text = R"({"resourceType": "Patient", "name": [)";
  for (int i = 0; i < 50; ++i) {
    text += std::string(i ? "," : "") + R"({"text": 1})";
  }
  text += "]}";
  EXPECT_EQ(Validate(text, 5).size(), 5u);
  EXPECT_EQ(Validate(text, 100).size(), 50u);
}

TEST(ValidatorFixturesTest, ValidFixturesHaveNoIssuesAndInvalidOnesAreCaught) {
  fs::path root = FixturesDir();
  if (root.empty()) {
    FAIL() << "the shared fixtures (../shared/fixtures beside the checkout) are required";
  }
  int valid = 0;
  int invalid = 0;
  size_t resources = 0;
  std::vector<json::Value> docs;
  for (const fs::path& file : FixtureFiles(root)) {
    std::string rel = fs::relative(file, root).generic_string();
    auto doc = json::Parse(ReadFile(file));
    ASSERT_TRUE(doc.ok()) << rel << ": " << doc.status().message();
    auto issues = ValidateResource(Model(), *doc, 1000);
    auto it = InvalidFixtures().find(rel);
    if (it == InvalidFixtures().end()) {
      EXPECT_TRUE(issues.empty()) << rel << ":\n" << Describe(issues);
      ++valid;
    } else {
      ++invalid;
      for (const Expected& e : it->second) {
        bool found = false;
        for (const auto& i : issues) {
          found =
              found || (i.path.ends_with(e.suffix) && i.path.find(e.contains) != std::string::npos);
        }
        EXPECT_TRUE(found) << rel << ": no issue at *" << e.suffix << "\n" << Describe(issues);
      }
    }
    const json::Value* entries = doc->Find("entry");
    resources += entries != nullptr ? entries->array().size() : 1;
    docs.push_back(std::move(doc).value());
  }
  EXPECT_EQ(valid, 153);
  EXPECT_EQ(invalid, 10);

  // Throughput over the whole corpus (Bundles validated whole), for the record.
  constexpr int kRounds = 5;
  auto start = std::chrono::steady_clock::now();
  size_t total_issues = 0;
  for (int r = 0; r < kRounds; ++r) {
    for (const auto& d : docs) {
      total_issues += ValidateResource(Model(), d).size();
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "validated " << resources * kRounds << " resources in " << secs << " s ("
            << static_cast<int>(resources * kRounds / secs) << " resources/s)\n";
  EXPECT_GT(total_issues, 0u);
}

}  // namespace
}  // namespace portico::fhir
