#include "src/app/demo_data.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "src/json/json.h"

namespace portico::app {
namespace {

bool ValidFhirId(const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Calls `fn(key, value)` for every object member in the tree.
template <typename Fn>
void Walk(const json::Value& v, const Fn& fn) {
  if (v.is_array()) {
    for (const json::Value& item : v.array()) {
      Walk(item, fn);
    }
  } else if (v.is_object()) {
    for (const json::Value::Member& m : v.object()) {
      fn(m.key, m.value);
      Walk(m.value, fn);
    }
  }
}

json::Value ParseOrDie(const DemoResource& r) {
  StatusOr<json::Value> parsed = json::Parse(r.json);
  EXPECT_TRUE(parsed.ok()) << r.type << "/" << r.id << ": " << parsed.status().ToString();
  return parsed.ok() ? std::move(parsed).value() : json::Value();
}

DemoOptions Members(int n) {
  DemoOptions options;
  options.members = n;
  return options;
}

class DemoDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    resources_ = new std::vector<DemoResource>(GenerateDemoData(Members(3)));
    parsed_ = new std::vector<json::Value>();
    for (const DemoResource& r : *resources_) {
      parsed_->push_back(ParseOrDie(r));
    }
  }
  static void TearDownTestSuite() {
    delete resources_;
    delete parsed_;
  }

  // Resources whose JSON references the given patient (or that are the patient).
  static std::vector<size_t> ForPatient(const std::string& patient_id) {
    const std::string needle = "\"reference\":\"Patient/" + patient_id + "\"";
    std::vector<size_t> out;
    for (size_t i = 0; i < resources_->size(); ++i) {
      const DemoResource& r = (*resources_)[i];
      if ((r.type == "Patient" && r.id == patient_id) || r.json.find(needle) != std::string::npos) {
        out.push_back(i);
      }
    }
    return out;
  }

  static std::vector<DemoResource>* resources_;
  static std::vector<json::Value>* parsed_;
};

std::vector<DemoResource>* DemoDataTest::resources_ = nullptr;
std::vector<json::Value>* DemoDataTest::parsed_ = nullptr;

TEST(DemoDataDeterminismTest, SameOptionsGiveIdenticalOutput) {
  DemoOptions options = Members(25);
  options.seed = 7;
  const std::string a = ToNdjson(GenerateDemoData(options));
  const std::string b = ToNdjson(GenerateDemoData(options));
  EXPECT_EQ(a, b);
  options.seed = 8;
  EXPECT_NE(a, ToNdjson(GenerateDemoData(options)));
}

TEST(DemoDataDeterminismTest, SmallerSetIsPrefixOfLargerSet) {
  const std::vector<DemoResource> small = GenerateDemoData(Members(3));
  const std::vector<DemoResource> large = GenerateDemoData(Members(600));  // spans chunks
  ASSERT_LT(small.size(), large.size());
  for (size_t i = 0; i < small.size(); ++i) {
    EXPECT_EQ(small[i].json, large[i].json) << small[i].type << "/" << small[i].id;
  }
}

TEST(DemoDataDeterminismTest, ZeroMembersGivesSharedResourcesOnly) {
  const std::vector<DemoResource> shared = GenerateDemoData(Members(0));
  ASSERT_FALSE(shared.empty());
  for (const DemoResource& r : shared) {
    EXPECT_NE(r.type, "Patient");
    EXPECT_NE(r.type, "ExplanationOfBenefit");
  }
}

TEST(DemoDataDeterminismTest, InvalidBaseDateFallsBackToDefault) {
  DemoOptions bad = Members(2);
  bad.base_date = "2023-02-30";
  EXPECT_EQ(ToNdjson(GenerateDemoData(bad)), ToNdjson(GenerateDemoData(Members(2))));
}

TEST(DemoDataDeterminismTest, NdjsonHasOneLinePerResource) {
  const std::vector<DemoResource> resources = GenerateDemoData(Members(3));
  const std::string ndjson = ToNdjson(resources);
  size_t lines = 0;
  for (char c : ndjson) {
    lines += c == '\n' ? 1 : 0;
  }
  EXPECT_EQ(lines, resources.size());
  ASSERT_FALSE(ndjson.empty());
  EXPECT_EQ(ndjson.back(), '\n');
}

TEST_F(DemoDataTest, EveryResourceParsesWithTypeAndValidUniqueId) {
  std::map<std::string, std::set<std::string>> ids;
  for (size_t i = 0; i < resources_->size(); ++i) {
    const DemoResource& r = (*resources_)[i];
    const json::Value& v = (*parsed_)[i];
    ASSERT_TRUE(v.is_object()) << r.id;
    EXPECT_EQ(v.GetString("resourceType"), r.type);
    EXPECT_EQ(v.GetString("id"), r.id);
    EXPECT_TRUE(ValidFhirId(r.id)) << r.id;
    EXPECT_TRUE(ids[r.type].insert(r.id).second) << "duplicate " << r.type << "/" << r.id;
    // The generator's writer matches the library serializer byte for byte.
    EXPECT_EQ(json::Serialize(v), r.json) << r.type << "/" << r.id;
  }
}

TEST_F(DemoDataTest, NoEmptyValuesAndDatesNotAfterBaseDate) {
  for (size_t i = 0; i < resources_->size(); ++i) {
    const DemoResource& r = (*resources_)[i];
    Walk((*parsed_)[i], [&r](const std::string& key, const json::Value& v) {
      EXPECT_FALSE(v.is_null()) << r.id << " " << key;
      if (v.is_string()) {
        EXPECT_FALSE(v.str().empty()) << r.id << " " << key;
      }
      if (v.is_array()) {
        EXPECT_FALSE(v.array().empty()) << r.id << " " << key;
      }
      if (v.is_object()) {
        EXPECT_FALSE(v.object().empty()) << r.id << " " << key;
      }
      // Dates of events lie on or before base_date; expiry and due dates may lie ahead.
      const bool date_like = v.is_string() && v.str().size() >= 10 && v.str()[4] == '-' &&
                             v.str()[7] == '-' && v.str()[0] >= '1' && v.str()[0] <= '2';
      if (date_like && key != "expirationDate" && key != "dueDate") {
        EXPECT_LE(v.str().substr(0, 10), "2024-06-01") << r.id << " " << key;
      }
    });
  }
}

TEST_F(DemoDataTest, EveryReferenceResolves) {
  std::set<std::string> known;
  for (const DemoResource& r : *resources_) {
    known.insert(r.type + "/" + r.id);
  }
  int references = 0;
  for (size_t i = 0; i < resources_->size(); ++i) {
    const DemoResource& r = (*resources_)[i];
    Walk((*parsed_)[i], [&](const std::string& key, const json::Value& v) {
      if (key == "reference") {
        ASSERT_TRUE(v.is_string());
        ++references;
        EXPECT_TRUE(known.count(v.str()) == 1) << r.type << "/" << r.id << " -> " << v.str();
      }
    });
  }
  EXPECT_GT(references, 500);
}

TEST_F(DemoDataTest, SharedDirectoryResources) {
  std::set<std::string> ids;
  for (const DemoResource& r : *resources_) {
    ids.insert(r.type + "/" + r.id);
  }
  EXPECT_TRUE(ids.count(std::string("Organization/") + kDemoPayerId));
  for (const char* type :
       {"Practitioner", "PractitionerRole", "Location", "Endpoint", "Medication"}) {
    bool found = false;
    for (const DemoResource& r : *resources_) {
      found = found || r.type == type;
    }
    EXPECT_TRUE(found) << type;
  }
  for (const DemoResource& r : *resources_) {
    if (r.type == "Organization" && r.id == kDemoPayerId) {
      EXPECT_NE(r.json.find("C4BB-Organization"), std::string::npos);
      EXPECT_NE(r.json.find("\"code\":\"npi\""), std::string::npos);
      EXPECT_NE(r.json.find("\"code\":\"TAX\""), std::string::npos);
    }
  }
}

TEST_F(DemoDataTest, AdultMemberHasAllEobTypes) {
  std::map<std::string, int> profiles;
  int eobs = 0;
  for (size_t i : ForPatient(kDemoAdultMemberId)) {
    const DemoResource& r = (*resources_)[i];
    if (r.type != "ExplanationOfBenefit") {
      continue;
    }
    ++eobs;
    const json::Value& v = (*parsed_)[i];
    const json::Value* profile = v.Find("meta")->Find("profile");
    ASSERT_NE(profile, nullptr);
    profiles[profile->array()[0].str()]++;
    EXPECT_EQ(v.GetString("status"), "active");
    EXPECT_EQ(v.GetString("use"), "claim");
    EXPECT_EQ(v.GetString("outcome"), "complete");
    for (const char* key :
         {"identifier", "type", "billablePeriod", "created", "insurer", "provider", "careTeam",
          "supportingInfo", "insurance", "item", "total", "payment"}) {
      EXPECT_NE(v.Find(key), nullptr) << r.id << " lacks " << key;
    }
    EXPECT_NE(r.json.find("\"focal\":true"), std::string::npos);
    EXPECT_NE(r.json.find("\"code\":\"uc\""), std::string::npos);
    EXPECT_NE(r.json.find("billingnetworkcontractingstatus"), std::string::npos);
  }
  EXPECT_GE(eobs, 12);
  const std::string base = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/";
  for (const char* p :
       {"C4BB-ExplanationOfBenefit-Inpatient-Institutional",
        "C4BB-ExplanationOfBenefit-Outpatient-Institutional", "C4BB-ExplanationOfBenefit-Pharmacy",
        "C4BB-ExplanationOfBenefit-Professional-NonClinician"}) {
    EXPECT_GE(profiles[base + p], 1) << p;
  }
  for (const DemoResource& r : *resources_) {
    if (r.id == "demo-eob-1-inpatient-1") {
      for (const char* info : {"admissionperiod", "clmrecvddate", "typeofbill", "pointoforigin",
                               "admtype", "discharge-status", "\"procedure\""}) {
        EXPECT_NE(r.json.find(info), std::string::npos) << info;
      }
    }
  }
}

TEST_F(DemoDataTest, AdultMemberHasEveryProfiledResourceType) {
  std::set<std::string> types;
  std::string all;
  for (size_t i : ForPatient(kDemoAdultMemberId)) {
    types.insert((*resources_)[i].type);
    all += (*resources_)[i].json;
  }
  for (const char* type :
       {"Patient", "Coverage", "ExplanationOfBenefit", "AllergyIntolerance", "CarePlan", "CareTeam",
        "Condition", "Device", "DiagnosticReport", "DocumentReference", "Encounter", "Goal",
        "Immunization", "MedicationRequest", "Observation", "Procedure", "Provenance",
        "MedicationDispense", "MedicationStatement"}) {
    EXPECT_TRUE(types.count(type)) << type;
  }
  // Vital signs, smoking status and labs (LOINC), note categories and document types.
  for (const char* code :
       {"85354-9",  "8480-6",  "8462-4",  "8867-4",  "9279-1",  "8310-5", "8302-2",    "29463-7",
        "39156-5",  "59408-5", "2708-6",  "9843-4",  "72166-2", "4548-4", "LP29684-5", "LP29708-2",
        "LP7839-6", "11488-4", "18842-5", "34117-2", "28570-0", "11506-3"}) {
    EXPECT_NE(all.find(std::string("\"code\":\"") + code + "\""), std::string::npos) << code;
  }
  EXPECT_NE(all.find("\"code\":\"LAB\""), std::string::npos);
  EXPECT_NE(all.find("\"code\":\"laboratory\""), std::string::npos);
  EXPECT_NE(all.find("\"medicationCodeableConcept\""), std::string::npos);
  EXPECT_NE(all.find("\"medicationReference\":{\"reference\":\"Medication/"), std::string::npos);
  EXPECT_NE(all.find("\"udiCarrier\""), std::string::npos);
  // Missing data: the extension and the coded "unknown".
  EXPECT_NE(all.find("http://hl7.org/fhir/StructureDefinition/data-absent-reason"),
            std::string::npos);
  EXPECT_NE(all.find("{\"system\":\"http://terminology.hl7.org/CodeSystem/data-absent-reason\","
                     "\"code\":\"unknown\""),
            std::string::npos);
  // US Core profiles are declared.
  for (const char* profile :
       {"us-core-patient", "us-core-allergyintolerance", "us-core-careplan", "us-core-careteam",
        "us-core-condition", "us-core-implantable-device", "us-core-diagnosticreport-lab",
        "us-core-diagnosticreport-note", "us-core-documentreference", "us-core-encounter",
        "us-core-goal", "us-core-immunization", "us-core-medicationrequest",
        "us-core-observation-lab", "us-core-procedure", "us-core-provenance",
        "us-core-pulse-oximetry", "us-core-smokingstatus"}) {
    EXPECT_NE(all.find(std::string("/us/core/StructureDefinition/") + profile + "\""),
              std::string::npos)
        << profile;
  }
}

TEST_F(DemoDataTest, ReportAndDocumentShareAttachmentUrl) {
  std::set<std::string> document_urls;
  std::vector<std::string> report_urls;
  for (size_t i = 0; i < resources_->size(); ++i) {
    const DemoResource& r = (*resources_)[i];
    if (r.type != "DocumentReference" && r.type != "DiagnosticReport") {
      continue;
    }
    Walk((*parsed_)[i], [&](const std::string& key, const json::Value& v) {
      if (key == "url") {
        if (r.type == "DocumentReference") {
          document_urls.insert(v.str());
        } else {
          report_urls.push_back(v.str());
        }
      }
    });
  }
  ASSERT_GE(report_urls.size(), 3u);
  for (const std::string& url : report_urls) {
    EXPECT_TRUE(document_urls.count(url)) << url;
  }
}

TEST_F(DemoDataTest, ChildMemberIsDependentOfAdult) {
  bool coverage = false;
  bool related = false;
  std::string all;
  for (size_t i : ForPatient(kDemoChildMemberId)) {
    const DemoResource& r = (*resources_)[i];
    all += r.json;
    const json::Value& v = (*parsed_)[i];
    if (r.type == "Coverage") {
      coverage = true;
      EXPECT_EQ(v.Find("subscriber")->GetString("reference"),
                std::string("Patient/") + kDemoAdultMemberId);
      EXPECT_NE(r.json.find("\"code\":\"child\""), std::string::npos);
    }
    if (r.type == "RelatedPerson") {
      related = true;
    }
  }
  EXPECT_TRUE(coverage);
  EXPECT_TRUE(related);
  for (const char* code : {"59576-9", "77606-2", "8289-1", "9843-4"}) {
    EXPECT_NE(all.find(std::string("\"code\":\"") + code + "\""), std::string::npos) << code;
  }
  EXPECT_NE(all.find("\"resourceType\":\"ExplanationOfBenefit\""), std::string::npos);
}

TEST(DemoDataScaleTest, ThousandMembersScaleProportionally) {
  const std::vector<DemoResource> small = GenerateDemoData(Members(3));
  const std::vector<DemoResource> large = GenerateDemoData(Members(1000));
  std::map<std::string, int> counts;
  std::set<std::string> ids;
  for (const DemoResource& r : large) {
    counts[r.type]++;
    EXPECT_TRUE(ids.insert(r.type + "/" + r.id).second) << r.type << "/" << r.id;
  }
  EXPECT_EQ(counts["Patient"], 1000);
  EXPECT_EQ(counts["Coverage"], 1000);
  EXPECT_GE(counts["ExplanationOfBenefit"], 1000);
  EXPECT_GE(counts["Observation"], 2000);
  EXPECT_GT(large.size(), small.size() * 50);
  // Spot-check that synthetic members' references resolve too.
  for (size_t i = large.size() - 200; i < large.size(); ++i) {
    StatusOr<json::Value> v = json::Parse(large[i].json);
    ASSERT_TRUE(v.ok());
    Walk(*v, [&](const std::string& key, const json::Value& value) {
      if (key == "reference") {
        EXPECT_TRUE(ids.count(value.str())) << large[i].id << " -> " << value.str();
      }
    });
  }
}

}  // namespace
}  // namespace portico::app
