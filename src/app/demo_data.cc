// Demo data: shared helpers, the payer/provider directory resources and the top-level driver.
#include "src/app/demo_data.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <thread>

#include "src/app/demo_data_internal.h"

namespace portico::app {
namespace demo {

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  Rng rng(seed ^ (stream * 0xD1B54A32D192ED03ULL));
  rng.Next();
  return rng.Next();
}

// ---- Dates --------------------------------------------------------------------------------------

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t days, int& y, int& m, int& d) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

bool ParseDay(std::string_view text, int64_t& day) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return false;
  }
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lens[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (size_t i = 0; i < lens[p]; ++i) {
      const char c = text[starts[p] + i];
      if (c < '0' || c > '9') {
        return false;
      }
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  // Leave room for birth dates a century back.
  if (parts[0] < 1900 || parts[0] > 9000 || parts[1] < 1 || parts[1] > 12 || parts[2] < 1) {
    return false;
  }
  const int64_t candidate = DaysFromCivil(parts[0], parts[1], parts[2]);
  int y = 0;
  int m = 0;
  int d = 0;
  CivilFromDays(candidate, y, m, d);
  if (y != parts[0] || m != parts[1] || d != parts[2]) {
    return false;  // e.g. 2023-02-30
  }
  day = candidate;
  return true;
}

std::string Date(int64_t day) {
  int y = 0;
  int m = 0;
  int d = 0;
  CivilFromDays(day, y, m, d);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
  return buf;
}

std::string DateTime(int64_t day, int minute_of_day) {
  int y = 0;
  int m = 0;
  int d = 0;
  CivilFromDays(day, y, m, d);
  minute_of_day = ((minute_of_day % 1440) + 1440) % 1440;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:00Z", y, m, d, minute_of_day / 60,
                minute_of_day % 60);
  return buf;
}

int64_t YearsBefore(int64_t day, int years) {
  int y = 0;
  int m = 0;
  int d = 0;
  CivilFromDays(day, y, m, d);
  if (m == 2 && d == 29) {
    d = 28;
  }
  return DaysFromCivil(y - years, m, d);
}

// ---- JSON / FHIR helpers ------------------------------------------------------------------------

bool IsEmpty(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kString:
      return v.str().empty();
    case Value::Kind::kArray:
      return v.array().empty();
    case Value::Kind::kObject:
      return v.object().empty();
    default:
      return false;
  }
}

void Append(Value& arr, Value v) {
  if (!IsEmpty(v)) {
    arr.Push(std::move(v));
  }
}

Value Coding(std::string_view system, std::string_view code, std::string_view display) {
  return O("system", system, "code", code, "display", display);
}

Value Concept(std::string_view system, std::string_view code, std::string_view display,
              std::string_view text) {
  return O("coding", A(Coding(system, code, display)), "text", text);
}

Value Ref(std::string_view type, std::string_view id, std::string_view display) {
  std::string reference;
  reference.reserve(type.size() + 1 + id.size());
  reference.append(type).append("/").append(id);
  return O("reference", std::move(reference), "display", display);
}

Value Period(const std::string& start, const std::string& end) {
  return O("start", start, "end", end);
}

std::string DecimalText(int64_t value, int scale) {
  std::string sign = value < 0 ? "-" : "";
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  if (scale <= 0) {
    return sign + std::to_string(magnitude);
  }
  uint64_t div = 1;
  for (int i = 0; i < scale; ++i) {
    div *= 10;
  }
  std::string frac = std::to_string(magnitude % div);
  frac.insert(0, static_cast<size_t>(scale) - frac.size(), '0');
  return sign + std::to_string(magnitude / div) + "." + frac;
}

Value Decimal(int64_t value, int scale) { return Value::NumberText(DecimalText(value, scale)); }

Value Money(int64_t cents) { return O("value", Decimal(cents, 2), "currency", "USD"); }

Value UcumQuantity(int64_t value, int scale, std::string_view unit, std::string_view code) {
  return O("value", Decimal(value, scale), "unit", unit, "system", kUcum, "code", code);
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) {
      n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    }
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Value Base64Text(std::string_view bytes) { return J(Base64(bytes)); }

std::string Npi(int base9) {
  // Luhn over "80840" + the first nine digits (the prefix contributes a constant 24).
  std::string digits = std::to_string(100000000 + (base9 % 900000000));
  int sum = 24;
  for (int i = 8, pos = 0; i >= 0; --i, ++pos) {
    int d = digits[static_cast<size_t>(i)] - '0';
    if (pos % 2 == 0) {
      d *= 2;
      if (d > 9) {
        d -= 9;
      }
    }
    sum += d;
  }
  return digits + std::to_string((10 - sum % 10) % 10);
}

Value NpiIdentifier(const std::string& npi) {
  return O("type",
           Concept("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType", "npi",
                   "National Provider Identifier"),
           "system", kNpiSystem, "value", npi);
}

Value Gen::Meta(std::initializer_list<std::string_view> profiles) const {
  Value list = Value::MakeArray();
  for (std::string_view p : profiles) {
    list.Push(J(p));
  }
  return O("lastUpdated", last_updated, "profile", std::move(list));
}

namespace {

// Same output as json::SerializeTo; strings that need no escaping are copied in one piece.
// True when `s` has a byte JSON must escape: a control character, '"' or '\\'. Checks eight
// bytes at a time (the bulk set is hundreds of megabytes of mostly plain ASCII).
bool NeedsEscape(const std::string& s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t x = 0;
    std::memcpy(&x, p, 8);
    const uint64_t quote = x ^ (kOnes * '"');
    const uint64_t backslash = x ^ (kOnes * '\\');
    // Classic "has a byte less than k" tests; high bytes (UTF-8) are masked out by ~x.
    const uint64_t hit = ((x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes)) & ~x & kHighs;
    if (hit != 0) {
      // A hit may be a false positive from borrow propagation; decide byte by byte.
      for (int i = 0; i < 8; ++i) {
        const unsigned char c = static_cast<unsigned char>(p[i]);
        if (c < 0x20 || c == '"' || c == '\\') {
          return true;
        }
      }
    }
  }
  for (; n > 0; ++p, --n) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == '"' || c == '\\') {
      return true;
    }
  }
  return false;
}

void AppendString(const std::string& s, std::string& out) {
  if (NeedsEscape(s)) {
    json::AppendQuoted(s, out);
    return;
  }
  out.push_back('"');
  out.append(s);
  out.push_back('"');
}

void Write(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Value::Kind::kString:
      AppendString(v.str(), out);
      return;
    case Value::Kind::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : v.array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        Write(item, out);
      }
      out.push_back(']');
      return;
    }
    case Value::Kind::kObject: {
      out.push_back('{');
      bool first = true;
      for (const Value::Member& m : v.object()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        AppendString(m.key, out);
        out.push_back(':');
        Write(m.value, out);
      }
      out.push_back('}');
      return;
    }
    default:
      json::SerializeTo(v, out);  // null, bool, number
      return;
  }
}

}  // namespace

void Gen::Emit(const Value& resource) const {
  DemoResource r{std::string(resource.GetString("resourceType")),
                 std::string(resource.GetString("id")), std::string()};
  scratch_.clear();
  Write(resource, scratch_);
  r.json.assign(scratch_);  // exact-size copy; scratch_ keeps its capacity
  out->push_back(std::move(r));
}

// ---- Shared directory resources
// -------------------------------------------------------------------

namespace {

struct PractitionerInfo {
  const char* given;
  const char* family;
  const char* gender;
  const char* taxonomy;
  const char* specialty;
  const char* org;
  const char* location;
};

constexpr std::array<PractitionerInfo, kPractitionerCount> kPractitioners = {{
    {"Maria", "Lopez", "female", "207Q00000X", "Family Medicine", kOrgClinic, kLocationClinic},
    {"James", "Chen", "male", "207RC0000X", "Cardiovascular Disease", kOrgHospital,
     kLocationHospital},
    {"Aisha", "Patel", "female", "207R00000X", "Internal Medicine", kOrgHospital,
     kLocationHospital},
    {"Olivia", "Nguyen", "female", "208000000X", "Pediatrics", kOrgClinic, kLocationClinic},
}};

struct OrgInfo {
  const char* id;
  const char* name;
  const char* type;  // organization-type code
  const char* line;
  const char* phone;
  int npi_base;
  const char* tin;
};

constexpr std::array<OrgInfo, 5> kOrgs = {{
    {kDemoPayerId, "Portico Demo Health Plan", "pay", "500 Insurance Plaza", "+1-217-555-0100",
     401000001, "370000001"},
    {kOrgHospital, "Springfield General Hospital", "prov", "100 Health Way", "+1-217-555-0110",
     402000002, "370000002"},
    {kOrgClinic, "Lincoln Family Clinic", "prov", "25 Prairie Street", "+1-217-555-0120", 403000003,
     "370000003"},
    {kOrgPharmacy, "Capitol Community Pharmacy", "prov", "8 Market Square", "+1-217-555-0130",
     404000004, "370000004"},
    {kOrgLab, "Heartland Reference Laboratory", "prov", "77 Science Drive", "+1-217-555-0140",
     405000005, "370000005"},
}};

Value Address(const char* line, const char* use = "work") {
  return O("use", use, "type", "both", "line", A(line), "city", "Springfield", "state", "IL",
           "postalCode", "62704", "country", "US");
}

Value Phone(const char* number, const char* use = "work") {
  return O("system", "phone", "value", number, "use", use);
}

void EmitOrganizations(const Gen& gen) {
  for (const OrgInfo& org : kOrgs) {
    const bool payer = std::string_view(org.id) == kDemoPayerId;
    Value identifiers = A(
        NpiIdentifier(Npi(org.npi_base)),
        O("type", Concept("http://terminology.hl7.org/CodeSystem/v2-0203", "TAX", "Tax ID number"),
          "system", "urn:oid:2.16.840.1.113883.4.4", "value", org.tin));
    if (payer) {
      identifiers.Push(O("type",
                         Concept("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType",
                                 "naiccode", "NAIC Code"),
                         "system", "urn:oid:2.16.840.1.113883.6.300", "value", "99999"));
    }
    std::string web = std::string("https://www.") + org.id + ".portico.example";
    Value res =
        O("resourceType", "Organization", "id", org.id, "meta",
          gen.Meta({"http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Organization",
                    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"}),
          "identifier", std::move(identifiers), "active", true, "type",
          A(Concept("http://terminology.hl7.org/CodeSystem/organization-type", org.type,
                    payer ? "Payer" : "Healthcare Provider")),
          "name", org.name, "telecom",
          A(Phone(org.phone), O("system", "url", "value", web, "use", "work")), "address",
          A(Address(org.line)), "endpoint",
          std::string_view(org.id) == kOrgHospital ? A(Ref("Endpoint", kEndpoint)) : Value());
    gen.Emit(res);
  }
}

void EmitPractitioners(const Gen& gen) {
  for (int n = 1; n <= kPractitionerCount; ++n) {
    const PractitionerInfo& p = kPractitioners[static_cast<size_t>(n - 1)];
    char phone[32];
    std::snprintf(phone, sizeof(phone), "+1-217-555-02%02d", n);
    Value res =
        O("resourceType", "Practitioner", "id", PractitionerId(n), "meta",
          gen.Meta({"http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Practitioner",
                    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"}),
          "identifier", A(NpiIdentifier(Npi(410000000 + n * 1111))), "active", true, "name",
          A(O("use", "official", "family", p.family, "given", A(p.given), "prefix", A("Dr."),
              "suffix", A("MD"))),
          "telecom", A(Phone(phone)), "address", A(Address("100 Health Way")), "gender", p.gender);
    gen.Emit(res);
  }
  for (int n = 1; n <= kPractitionerCount; ++n) {
    const PractitionerInfo& p = kPractitioners[static_cast<size_t>(n - 1)];
    char phone[32];
    std::snprintf(phone, sizeof(phone), "+1-217-555-02%02d", n);
    Value res =
        O("resourceType", "PractitionerRole", "id", "demo-practitionerrole-" + std::to_string(n),
          "meta",
          gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitionerrole"}),
          "active", true, "period", Period("2015-01-01"), "practitioner",
          Ref("Practitioner", PractitionerId(n), PractitionerName(n)), "organization",
          Ref("Organization", p.org, OrganizationName(p.org)), "code",
          A(Concept("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor", "Doctor")),
          "specialty", A(Concept("http://nucc.org/provider-taxonomy", p.taxonomy, p.specialty)),
          "location", A(Ref("Location", p.location)), "telecom", A(Phone(phone)), "endpoint",
          A(Ref("Endpoint", kEndpoint)));
    gen.Emit(res);
  }
}

void EmitLocations(const Gen& gen) {
  struct Loc {
    const char* id;
    const char* name;
    const char* org;
    const char* line;
    const char* type;
    const char* type_display;
  };
  const Loc locs[] = {
      {kLocationHospital, "Springfield General Hospital Main Campus", kOrgHospital,
       "100 Health Way", "HOSP", "Hospital"},
      {kLocationClinic, "Lincoln Family Clinic Downtown", kOrgClinic, "25 Prairie Street", "OF",
       "Outpatient facility"},
  };
  for (const Loc& l : locs) {
    Value res =
        O("resourceType", "Location", "id", l.id, "meta",
          gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-location"}),
          "identifier", A(O("system", "https://portico.example/fhir/location-id", "value", l.id)),
          "status", "active", "name", l.name, "mode", "instance", "type",
          A(Concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", l.type, l.type_display)),
          "telecom", A(Phone("+1-217-555-0110")), "address", Address(l.line), "physicalType",
          Concept("http://terminology.hl7.org/CodeSystem/location-physical-type", "bu", "Building"),
          "managingOrganization", Ref("Organization", l.org, OrganizationName(l.org)));
    gen.Emit(res);
  }
  Value endpoint = O(
      "resourceType", "Endpoint", "id", kEndpoint, "meta", O("lastUpdated", gen.last_updated),
      "status", "active", "connectionType",
      Coding("http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "hl7-fhir-rest",
             "HL7 FHIR"),
      "name", "Springfield General Hospital FHIR API", "managingOrganization",
      Ref("Organization", kOrgHospital, OrganizationName(kOrgHospital)), "contact",
      A(O("system", "email", "value", "interop@demo-org-hospital.portico.example", "use", "work")),
      "payloadType",
      A(Concept("http://terminology.hl7.org/CodeSystem/endpoint-payload-type", "any", "Any")),
      "payloadMimeType", A("application/fhir+json"), "address",
      "https://fhir.demo-org-hospital.portico.example/r4");
  gen.Emit(endpoint);
}

void EmitMedications(const Gen& gen) {
  struct Med {
    const char* id;
    const char* rxnorm;
    const char* display;
  };
  const Med meds[] = {
      {kMedicationAmlodipine, "197361", "amlodipine 5 MG Oral Tablet"},
      {kMedicationMetformin, "860975",
       "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet"},
  };
  for (const Med& m : meds) {
    Value res = O("resourceType", "Medication", "id", m.id, "meta",
                  gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-medication"}),
                  "code", Concept(kRxNorm, m.rxnorm, m.display, m.display), "status", "active",
                  "form", Concept(kSnomed, "385055001", "Tablet"));
    gen.Emit(res);
  }
}

}  // namespace

std::string PractitionerId(int n) { return "demo-practitioner-" + std::to_string(n); }

std::string PractitionerName(int n) {
  const PractitionerInfo& p = kPractitioners[static_cast<size_t>((n - 1) % kPractitionerCount)];
  return std::string("Dr. ") + p.given + " " + p.family;
}

std::string OrganizationName(std::string_view id) {
  for (const OrgInfo& org : kOrgs) {
    if (id == org.id) {
      return org.name;
    }
  }
  return {};
}

void EmitShared(const Gen& gen) {
  EmitOrganizations(gen);
  EmitPractitioners(gen);
  EmitLocations(gen);
  EmitMedications(gen);
}

}  // namespace demo

std::vector<DemoResource> GenerateDemoData(const DemoOptions& options) {
  demo::Gen gen;
  gen.options = options;
  if (!demo::ParseDay(gen.options.base_date, gen.base_day)) {
    gen.options.base_date = DemoOptions().base_date;
    demo::ParseDay(gen.options.base_date, gen.base_day);
  }
  gen.last_updated = demo::DateTime(gen.base_day, 0);
  const int members = options.members > 0 ? options.members : 0;

  std::vector<DemoResource> out;
  gen.out = &out;
  demo::EmitShared(gen);

  // Members are independent (each has its own PRNG stream), so large sets are generated in
  // parallel chunks and concatenated in member order: the output does not depend on the number
  // of threads.
  constexpr int kMembersPerChunk = 500;
  const int chunks = (members + kMembersPerChunk - 1) / kMembersPerChunk;
  unsigned hw = std::thread::hardware_concurrency();
  const int threads = std::min(chunks, std::clamp(static_cast<int>(hw), 1, 8));
  std::vector<std::vector<DemoResource>> parts(static_cast<size_t>(chunks));
  auto run_chunk = [&gen, members, &parts](int chunk) {
    demo::Gen local = gen;
    std::vector<DemoResource>& part = parts[static_cast<size_t>(chunk)];
    local.out = &part;
    const int first = chunk * kMembersPerChunk + 1;
    const int last = std::min(members, first + kMembersPerChunk - 1);
    part.reserve(static_cast<size_t>(last - first + 1) * 12 + 64);
    for (int i = first; i <= last; ++i) {
      demo::EmitMember(local, i);
    }
  };
  if (threads <= 1) {
    for (int c = 0; c < chunks; ++c) {
      run_chunk(c);
    }
  } else {
    std::atomic<int> next{0};
    auto worker = [&next, chunks, &run_chunk] {
      for (int c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
        run_chunk(c);
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(threads - 1));
    for (int t = 1; t < threads; ++t) {
      pool.emplace_back(worker);
    }
    worker();
    for (std::thread& t : pool) {
      t.join();
    }
  }
  size_t total = out.size();
  for (const auto& part : parts) {
    total += part.size();
  }
  out.reserve(total);
  for (auto& part : parts) {
    std::move(part.begin(), part.end(), std::back_inserter(out));
    std::vector<DemoResource>().swap(part);
  }
  return out;
}

std::string ToNdjson(const std::vector<DemoResource>& resources) {
  size_t total = 0;
  for (const DemoResource& r : resources) {
    total += r.json.size() + 1;
  }
  std::string out;
  out.reserve(total);
  for (const DemoResource& r : resources) {
    out.append(r.json);
    out.push_back('\n');
  }
  return out;
}

}  // namespace portico::app
