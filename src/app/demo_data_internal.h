// Internals of the demo data generator (demo_data*.cc): the PRNG, date arithmetic, terse JSON
// builders and the per-section generators. Not part of the public API; see demo_data.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/app/demo_data.h"
#include "src/json/json.h"

namespace portico::app::demo {

using json::Value;

// ---- PRNG ---------------------------------------------------------------------------------------

// splitmix64 (Steele, Lea, Flood 2014). Fully specified integer arithmetic, so the sequence is the
// same on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform-enough integer in [0, n); n > 0.
  int64_t Below(int64_t n) {
    return static_cast<int64_t>((Next() >> 11) % static_cast<uint64_t>(n));
  }
  // Integer in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) { return lo + Below(hi - lo + 1); }
  bool Chance(int percent) { return Below(100) < percent; }
  template <typename T>
  const T& Pick(std::span<const T> items) {
    return items[static_cast<size_t>(Below(static_cast<int64_t>(items.size())))];
  }

 private:
  uint64_t state_;
};

// Independent stream for one purpose (member index, section), derived from the user seed.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

// ---- Dates --------------------------------------------------------------------------------------

// Days since 1970-01-01 in the proleptic Gregorian calendar.
int64_t DaysFromCivil(int y, int m, int d);
void CivilFromDays(int64_t days, int& y, int& m, int& d);
// Parses YYYY-MM-DD; false when malformed or not a real calendar date.
bool ParseDay(std::string_view text, int64_t& day);
std::string Date(int64_t day);
// FHIR dateTime/instant in UTC with seconds: YYYY-MM-DDThh:mm:00Z.
std::string DateTime(int64_t day, int minute_of_day);
// The day `years` whole years before `day` (Feb 29 clamps to Feb 28).
int64_t YearsBefore(int64_t day, int years);

// ---- JSON builders ------------------------------------------------------------------------------

inline Value&& J(Value&& v) { return std::move(v); }
inline Value J(const Value& v) { return v; }
inline Value J(Value& v) { return v; }
inline Value J(const char* s) { return Value::String(s); }
inline Value J(std::string s) { return Value::String(std::move(s)); }
inline Value J(std::string_view s) { return Value::String(std::string(s)); }
inline Value J(int v) { return Value::Int(v); }
inline Value J(int64_t v) { return Value::Int(v); }
inline Value J(bool b) { return Value::Bool(b); }

// True for null and for empty strings, arrays and objects, which FHIR JSON forbids.
bool IsEmpty(const Value& v);

inline void AddMembers(Value&) {}
template <typename V, typename... Rest>
void AddMembers(Value& obj, std::string_view key, V&& v, Rest&&... rest) {
  Value value = J(std::forward<V>(v));
  if (!IsEmpty(value)) {
    obj.object().emplace_back(std::string(key), std::move(value));
  }
  AddMembers(obj, std::forward<Rest>(rest)...);
}

// O("key", value, "key2", value2, ...): an object; empty members are left out.
template <typename... Args>
Value O(Args&&... args) {
  Value obj = Value::MakeObject();
  obj.object().reserve(sizeof...(Args) / 2);
  AddMembers(obj, std::forward<Args>(args)...);
  return obj;
}

inline void AddItems(Value&) {}
template <typename V, typename... Rest>
void AddItems(Value& arr, V&& v, Rest&&... rest) {
  Value value = J(std::forward<V>(v));
  if (!IsEmpty(value)) {
    arr.Push(std::move(value));
  }
  AddItems(arr, std::forward<Rest>(rest)...);
}

// A(v1, v2, ...): an array; empty items are left out.
template <typename... Args>
Value A(Args&&... args) {
  Value arr = Value::MakeArray();
  arr.array().reserve(sizeof...(Args));
  AddItems(arr, std::forward<Args>(args)...);
  return arr;
}

// Appends `v` to array `arr` unless it is empty.
void Append(Value& arr, Value v);

// ---- FHIR datatypes -----------------------------------------------------------------------------

inline constexpr char kLoinc[] = "http://loinc.org";
inline constexpr char kSnomed[] = "http://snomed.info/sct";
inline constexpr char kUcum[] = "http://unitsofmeasure.org";
inline constexpr char kRxNorm[] = "http://www.nlm.nih.gov/research/umls/rxnorm";
inline constexpr char kIcd10Cm[] = "http://hl7.org/fhir/sid/icd-10-cm";
inline constexpr char kNpiSystem[] = "http://hl7.org/fhir/sid/us-npi";
inline constexpr char kUsCore[] = "http://hl7.org/fhir/us/core/StructureDefinition/";
inline constexpr char kC4bb[] = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/";
inline constexpr char kDataAbsentReasonExt[] =
    "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
inline constexpr char kDataAbsentReasonSystem[] =
    "http://terminology.hl7.org/CodeSystem/data-absent-reason";
inline constexpr char kMemberIdSystem[] = "https://portico.example/fhir/member-id";

Value Coding(std::string_view system, std::string_view code, std::string_view display = {});
Value Concept(std::string_view system, std::string_view code, std::string_view display = {},
              std::string_view text = {});
Value Ref(std::string_view type, std::string_view id, std::string_view display = {});
Value Period(const std::string& start, const std::string& end = {});
// Decimal text for value / 10^scale, e.g. Decimal(12345, 2) == "123.45".
std::string DecimalText(int64_t value, int scale);
Value Decimal(int64_t value, int scale);
Value Money(int64_t cents);
Value UcumQuantity(int64_t value, int scale, std::string_view unit, std::string_view code);
Value Base64Text(std::string_view bytes);
std::string Base64(std::string_view bytes);
// A 10-digit NPI whose check digit is valid (Luhn over the 80840 prefix).
std::string Npi(int base9);
// The identifier slice US Core and CARIN BB use for an NPI.
Value NpiIdentifier(const std::string& npi);

// ---- Generation context
// ---------------------------------------------------------------------------

struct Gen {
  DemoOptions options;
  int64_t base_day = 0;      // options.base_date as days since the epoch
  std::string last_updated;  // meta.lastUpdated for every resource
  std::vector<DemoResource>* out = nullptr;

  // meta with lastUpdated and the given profile URLs.
  Value Meta(std::initializer_list<std::string_view> profiles) const;
  // Serializes `resource` (which must have resourceType and id) into `out`, byte for byte as
  // json::Serialize would, but faster for the bulk set.
  void Emit(const Value& resource) const;

 private:
  mutable std::string scratch_;  // serialization buffer reused across resources
};

// Shared resource ids.
inline constexpr char kOrgHospital[] = "demo-org-hospital";
inline constexpr char kOrgClinic[] = "demo-org-clinic";
inline constexpr char kOrgPharmacy[] = "demo-org-pharmacy";
inline constexpr char kOrgLab[] = "demo-org-lab";
inline constexpr char kLocationHospital[] = "demo-location-hospital";
inline constexpr char kLocationClinic[] = "demo-location-clinic";
inline constexpr char kEndpoint[] = "demo-endpoint-1";
inline constexpr char kMedicationAmlodipine[] = "demo-medication-1";
inline constexpr char kMedicationMetformin[] = "demo-medication-2";
// Practitioners demo-practitioner-1..4 (family medicine, cardiology, internal medicine,
// pediatrics) with matching PractitionerRoles demo-practitionerrole-1..4.
inline constexpr int kPractitionerCount = 4;
std::string PractitionerId(int n);
std::string PractitionerName(int n);
std::string OrganizationName(std::string_view id);

void EmitShared(const Gen& gen);

// ---- Claims (demo_data_claims.cc) ---------------------------------------------------------------

enum class EobKind { kInpatient, kOutpatient, kPharmacy, kProfessional };
std::string_view EobKindSlug(EobKind kind);

struct Member {
  int index = 0;   // 1-based
  std::string id;  // Patient id
  std::string coverage_id;
  std::string name;       // display
  std::string member_id;  // plan member number
};

struct EobInput {
  EobKind kind = EobKind::kProfessional;
  std::string id;
  int64_t start_day = 0;  // first day of service
  int variant = 0;        // picks the codes
  int practitioner = 1;   // 1..kPractitionerCount
};

Value BuildCoverage(const Gen& gen, const Member& m, const Member& subscriber,
                    std::string_view relationship, int64_t start_day, int dependent);
Value BuildEob(const Gen& gen, const Member& m, const EobInput& in, Rng& rng);

// ---- Clinical (demo_data_clinical.cc) -----------------------------------------------------------

// A vital sign or anthropometric observation: `kind` is one of "heart-rate", "resp-rate", "temp",
// "height", "weight", "bmi", "head-circ", "pulse-ox", "bp", "ped-bmi", "ped-wfl", "ofc-pct".
// `value` is scaled by 10 (one decimal) except for bp (systolic*1000+diastolic).
Value VitalSign(const Gen& gen, const Member& m, const std::string& id, std::string_view kind,
                int64_t value, const std::string& when, const std::string& encounter_id = {});
// A laboratory observation from the built-in catalog (index wraps).
Value LabObservation(const Gen& gen, const Member& m, const std::string& id, int test, Rng& rng,
                     const std::string& when, const std::string& encounter_id = {});
int LabTestCount();
// A problem-list Condition from the built-in catalog (index wraps).
Value ProblemCondition(const Gen& gen, const Member& m, const std::string& id, int problem,
                       int64_t onset_day);
int ProblemCount();

void EmitAdultClinical(const Gen& gen, const Member& m, Rng& rng);
void EmitChildClinical(const Gen& gen, const Member& child, const Member& parent, Rng& rng);

// ---- Members (demo_data_members.cc) ------------------------------------------------------------

void EmitMember(const Gen& gen, int index);

}  // namespace portico::app::demo
