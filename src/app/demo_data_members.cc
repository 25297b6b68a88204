// Demo data: members (Patient, Coverage, RelatedPerson) and their claim histories.
#include <array>
#include <cstdio>
#include <string>

#include "src/app/demo_data.h"
#include "src/app/demo_data_internal.h"

namespace portico::app::demo {
namespace {

struct Person {
  const char* given[2];
  const char* family;
  const char* suffix;  // may be nullptr
  const char* gender;
  const char* birth_sex;  // us-core-birthsex: M, F, UNK
  int age_years;
  const char* line;
  const char* city;
  const char* state;
  const char* zip;
  const char* race_code;  // CDC race and ethnicity code (OMB category)
  const char* race_display;
  const char* ethnicity_code;
  const char* ethnicity_display;
  const char* language;  // BCP-47
  const char* language_display;
};

Value RaceExtension(const char* code, const char* display) {
  return O("url", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "extension",
           A(O("url", "ombCategory", "valueCoding",
               Coding("urn:oid:2.16.840.1.113883.6.238", code, display)),
             O("url", "text", "valueString", display)));
}

Value EthnicityExtension(const char* code, const char* display) {
  return O("url", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity", "extension",
           A(O("url", "ombCategory", "valueCoding",
               Coding("urn:oid:2.16.840.1.113883.6.238", code, display)),
             O("url", "text", "valueString", display)));
}

std::string DisplayName(const Person& p) {
  std::string name = std::string(p.given[0]) + " " + p.family;
  if (p.suffix != nullptr) {
    name += std::string(" ") + p.suffix;
  }
  return name;
}

Value HumanName(const Person& p) {
  Value given = A(p.given[0]);
  if (p.given[1] != nullptr) {
    given.Push(J(p.given[1]));
  }
  return O("use", "official", "family", p.family, "given", std::move(given), "suffix",
           p.suffix != nullptr ? A(p.suffix) : Value());
}

Value Home(const Person& p) {
  return O("use", "home", "type", "both", "line", A(p.line), "city", p.city, "state", p.state,
           "postalCode", p.zip, "country", "US");
}

Member MakeMember(int index, const Person& p) {
  Member m;
  m.index = index;
  m.id = "demo-member-" + std::to_string(index);
  m.coverage_id = "demo-coverage-" + std::to_string(index);
  m.name = DisplayName(p);
  char number[32];
  std::snprintf(number, sizeof(number), "PD%08d", index);
  m.member_id = number;
  return m;
}

Value BuildPatient(const Gen& gen, const Member& m, const Person& p, int64_t birth_day,
                   const std::string& phone, const Value& contact) {
  std::string email;
  for (const char* c = p.given[0]; *c != '\0'; ++c) {
    email.push_back(static_cast<char>(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c));
  }
  email += "." + std::to_string(m.index) + "@mail.portico.example";
  return O("resourceType", "Patient", "id", m.id, "meta",
           gen.Meta({"http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient",
                     "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"}),
           "extension",
           A(RaceExtension(p.race_code, p.race_display),
             EthnicityExtension(p.ethnicity_code, p.ethnicity_display),
             O("url", "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
               "valueCode", p.birth_sex)),
           "identifier",
           A(O("use", "usual", "type",
               Concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MB", "Member Number"),
               "system", kMemberIdSystem, "value", m.member_id, "assigner",
               Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId)))),
           "active", true, "name", A(HumanName(p)), "telecom",
           A(O("system", "phone", "value", phone, "use", "home", "rank", 1),
             O("system", "email", "value", email, "use", "home", "rank", 2)),
           "gender", p.gender, "birthDate", Date(birth_day), "address", A(Home(p)), "contact",
           contact, "communication",
           A(O("language", Concept("urn:ietf:bcp:47", p.language, p.language_display), "preferred",
               true)),
           "managingOrganization",
           Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId)));
}

// The showcase family.
constexpr Person kAdult = {{"Robert", "James"},
                           "Carter",
                           "Jr.",
                           "male",
                           "M",
                           52,
                           "742 Evergreen Terrace",
                           "Springfield",
                           "IL",
                           "62704",
                           "2106-3",
                           "White",
                           "2186-5",
                           "Not Hispanic or Latino",
                           "en-US",
                           "English (United States)"};
constexpr Person kChild = {{"Emma", "Rose"},
                           "Carter",
                           nullptr,
                           "female",
                           "F",
                           6,
                           "742 Evergreen Terrace",
                           "Springfield",
                           "IL",
                           "62704",
                           "2106-3",
                           "White",
                           "2186-5",
                           "Not Hispanic or Latino",
                           "en-US",
                           "English (United States)"};

void EmitAdult(const Gen& gen, Rng& rng) {
  const Member m = MakeMember(1, kAdult);
  const int64_t birth = YearsBefore(gen.base_day, kAdult.age_years) - rng.Range(30, 300);
  gen.Emit(BuildPatient(gen, m, kAdult, birth, "+1-217-555-0101", Value()));
  gen.Emit(BuildCoverage(gen, m, m, "self", YearsBefore(gen.base_day, 6), 1));

  // Fourteen claims over about five years, newest first: every CARIN BB type several times.
  struct Planned {
    EobKind kind;
    int variant;
    int practitioner;
  };
  constexpr std::array<Planned, 14> kPlan = {{
      {EobKind::kProfessional, 0, 1},
      {EobKind::kPharmacy, 0, 2},
      {EobKind::kOutpatient, 0, 2},
      {EobKind::kInpatient, 0, 2},
      {EobKind::kPharmacy, 1, 1},
      {EobKind::kProfessional, 1, 2},
      {EobKind::kProfessional, 2, 1},
      {EobKind::kInpatient, 1, 3},
      {EobKind::kPharmacy, 2, 1},
      {EobKind::kOutpatient, 1, 3},
      {EobKind::kPharmacy, 3, 2},
      {EobKind::kInpatient, 2, 3},
      {EobKind::kOutpatient, 2, 1},
      {EobKind::kProfessional, 0, 1},
  }};
  int counters[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < kPlan.size(); ++k) {
    const Planned& p = kPlan[k];
    EobInput in;
    in.kind = p.kind;
    in.variant = p.variant;
    in.practitioner = p.practitioner;
    in.id = "demo-eob-1-" + std::string(EobKindSlug(p.kind)) + "-" +
            std::to_string(++counters[static_cast<int>(p.kind)]);
    in.start_day = gen.base_day - 45 - static_cast<int64_t>(k) * 125 - rng.Range(0, 40);
    gen.Emit(BuildEob(gen, m, in, rng));
  }
  EmitAdultClinical(gen, m, rng);
}

void EmitChild(const Gen& gen, Rng& rng) {
  const Member parent = MakeMember(1, kAdult);
  Member child = MakeMember(2, kChild);
  child.member_id = parent.member_id + "-02";
  const int64_t birth = YearsBefore(gen.base_day, kChild.age_years) - rng.Range(30, 200);
  Value contact =
      A(O("relationship",
          A(Concept("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin")), "name",
          HumanName(kAdult), "telecom",
          A(O("system", "phone", "value", "+1-217-555-0101", "use", "home")), "address",
          Home(kAdult), "gender", "male"));
  gen.Emit(BuildPatient(gen, child, kChild, birth, "+1-217-555-0101", contact));
  const int64_t coverage_start =
      birth + 1 > YearsBefore(gen.base_day, 6) ? birth + 1 : YearsBefore(gen.base_day, 6);
  gen.Emit(BuildCoverage(gen, child, parent, "child", coverage_start, 2));
  gen.Emit(O("resourceType", "RelatedPerson", "id", "demo-relatedperson-2-parent", "meta",
             O("lastUpdated", gen.last_updated), "identifier",
             A(O("system", kMemberIdSystem, "value", parent.member_id)), "active", true, "patient",
             Ref("Patient", child.id, child.name), "relationship",
             A(Concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "FTH", "father"),
               Concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "GUARD", "guardian")),
             "name", A(HumanName(kAdult)), "telecom",
             A(O("system", "phone", "value", "+1-217-555-0101", "use", "home")), "gender", "male",
             "address", A(Home(kAdult)), "period", Period(Date(birth))));

  struct Planned {
    EobKind kind;
    int variant;
  };
  constexpr std::array<Planned, 5> kPlan = {{
      {EobKind::kProfessional, 4},
      {EobKind::kPharmacy, 4},
      {EobKind::kProfessional, 3},
      {EobKind::kProfessional, 4},
      {EobKind::kProfessional, 3},
  }};
  int counters[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < kPlan.size(); ++k) {
    EobInput in;
    in.kind = kPlan[k].kind;
    in.variant = kPlan[k].variant;
    in.practitioner = 4;
    in.id = "demo-eob-2-" + std::string(EobKindSlug(in.kind)) + "-" +
            std::to_string(++counters[static_cast<int>(in.kind)]);
    in.start_day = gen.base_day - 60 - static_cast<int64_t>(k) * 180 - rng.Range(0, 30);
    if (in.start_day <= coverage_start) {
      in.start_day = coverage_start + 1;
    }
    gen.Emit(BuildEob(gen, child, in, rng));
  }
  EmitChildClinical(gen, child, parent, rng);
}

// ---- Synthetic members
// ----------------------------------------------------------------------------

constexpr std::array<const char*, 20> kGivenFemale = {
    "Olivia", "Ava",     "Sophia", "Isabella", "Mia",    "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily",  "Ella",     "Grace",  "Chloe",  "Camila",
    "Luna",   "Zoe",     "Nora",   "Lily",     "Hannah", "Aaliyah"};
constexpr std::array<const char*, 20> kGivenMale = {
    "Liam",  "Noah",  "Oliver",    "Elijah", "James",   "William", "Benjamin",
    "Lucas", "Henry", "Alexander", "Mason",  "Michael", "Ethan",   "Daniel",
    "Jacob", "Logan", "Jackson",   "Levi",   "Mateo",   "Jamal"};
constexpr std::array<const char*, 24> kFamily = {
    "Smith",     "Johnson",  "Williams",  "Brown",  "Jones",    "Garcia", "Miller",   "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez",  "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor",    "Moore",    "Jackson",   "Martin", "Lee",      "Nguyen", "Kim",      "Washington"};
constexpr std::array<const char*, 8> kStreets = {
    "Oak Street", "Maple Avenue",   "Cedar Lane",       "Pine Road",
    "Elm Street", "Lakeview Drive", "Sunset Boulevard", "Hillcrest Court"};

struct Race {
  const char* race;
  const char* race_display;
  const char* eth;
  const char* eth_display;
};
constexpr std::array<Race, 6> kRaces = {{
    {"2106-3", "White", "2186-5", "Not Hispanic or Latino"},
    {"2054-5", "Black or African American", "2186-5", "Not Hispanic or Latino"},
    {"2028-9", "Asian", "2186-5", "Not Hispanic or Latino"},
    {"2106-3", "White", "2135-2", "Hispanic or Latino"},
    {"1002-5", "American Indian or Alaska Native", "2186-5", "Not Hispanic or Latino"},
    {"2076-8", "Native Hawaiian or Other Pacific Islander", "2186-5", "Not Hispanic or Latino"},
}};

void EmitSynthetic(const Gen& gen, int index, Rng& rng) {
  const bool female = rng.Chance(50);
  const Race& race = kRaces[static_cast<size_t>(rng.Below(kRaces.size()))];
  const bool spanish = race.eth[3] == '3' && rng.Chance(40);  // 2135-2
  std::string line = std::to_string(rng.Range(10, 9999)) + " " +
                     kStreets[static_cast<size_t>(rng.Below(kStreets.size()))];
  Person p = {{female ? kGivenFemale[static_cast<size_t>(rng.Below(kGivenFemale.size()))]
                      : kGivenMale[static_cast<size_t>(rng.Below(kGivenMale.size()))],
               nullptr},
              kFamily[static_cast<size_t>(rng.Below(kFamily.size()))],
              nullptr,
              female ? "female" : "male",
              female ? "F" : "M",
              static_cast<int>(rng.Range(19, 84)),
              line.c_str(),
              "Springfield",
              "IL",
              "62704",
              race.race,
              race.race_display,
              race.eth,
              race.eth_display,
              spanish ? "es" : "en-US",
              spanish ? "Spanish" : "English (United States)"};
  const Member m = MakeMember(index, p);
  const int64_t birth = YearsBefore(gen.base_day, p.age_years) - rng.Range(0, 360);
  char phone[32];
  std::snprintf(phone, sizeof(phone), "+1-217-555-%04d", static_cast<int>(rng.Range(1000, 9999)));
  gen.Emit(BuildPatient(gen, m, p, birth, phone, Value()));
  const int64_t coverage_start = YearsBefore(gen.base_day, static_cast<int>(rng.Range(1, 8)));
  gen.Emit(BuildCoverage(gen, m, m, "self", coverage_start, 1));

  const int claims = static_cast<int>(rng.Range(1, 4));
  int counters[4] = {0, 0, 0, 0};
  const int64_t span = gen.base_day - 45 - coverage_start;
  for (int k = 0; k < claims; ++k) {
    const int64_t roll = rng.Below(100);
    EobInput in;
    if (roll < 45) {
      in.kind = EobKind::kProfessional;
      in.variant = static_cast<int>(rng.Below(3));
    } else if (roll < 75) {
      in.kind = EobKind::kPharmacy;
      in.variant = static_cast<int>(rng.Below(4));
    } else if (roll < 90) {
      in.kind = EobKind::kOutpatient;
      in.variant = static_cast<int>(rng.Below(3));
    } else {
      in.kind = EobKind::kInpatient;
      in.variant = static_cast<int>(rng.Below(3));
    }
    in.practitioner = static_cast<int>(rng.Range(1, 3));
    in.id = "demo-eob-" + std::to_string(index) + "-" + std::string(EobKindSlug(in.kind)) + "-" +
            std::to_string(++counters[static_cast<int>(in.kind)]);
    in.start_day = gen.base_day - 45 - (span > 1 ? rng.Below(span) : 0);
    gen.Emit(BuildEob(gen, m, in, rng));
  }

  const int conditions = static_cast<int>(rng.Range(1, 2));
  const int first_problem = static_cast<int>(rng.Below(ProblemCount()));
  for (int k = 0; k < conditions; ++k) {
    gen.Emit(ProblemCondition(
        gen, m, "demo-condition-" + std::to_string(index) + "-" + std::to_string(k + 1),
        first_problem + k, gen.base_day - rng.Range(100, 3000)));
  }
  const int64_t visit = gen.base_day - rng.Range(10, 700);
  const std::string when = DateTime(visit, static_cast<int>(rng.Range(480, 1020)));
  const std::string obs = "demo-obs-" + std::to_string(index) + "-";
  gen.Emit(
      VitalSign(gen, m, obs + "bp", "bp", rng.Range(105, 150) * 1000 + rng.Range(62, 95), when));
  const int64_t height = female ? rng.Range(1520, 1750) : rng.Range(1640, 1900);  // mm
  const int64_t weight = rng.Range(480, 1200);                                    // 0.1 kg
  gen.Emit(VitalSign(gen, m, obs + "height", "height", height, when));
  gen.Emit(VitalSign(gen, m, obs + "weight", "weight", weight, when));
  gen.Emit(VitalSign(gen, m, obs + "bmi", "bmi", weight * 1000000 / (height * height), when));
  gen.Emit(VitalSign(gen, m, obs + "heart-rate", "heart-rate", 10 * rng.Range(55, 95), when));
  if (rng.Chance(60)) {
    gen.Emit(LabObservation(gen, m, obs + "lab", static_cast<int>(rng.Below(LabTestCount())), rng,
                            when));
  }
}

}  // namespace

void EmitMember(const Gen& gen, int index) {
  Rng rng(DeriveSeed(gen.options.seed, static_cast<uint64_t>(index)));
  if (index == 1) {
    EmitAdult(gen, rng);
  } else if (index == 2) {
    EmitChild(gen, rng);
  } else {
    EmitSynthetic(gen, index, rng);
  }
}

}  // namespace portico::app::demo
