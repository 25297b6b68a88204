// Deterministic demo data for Portico: a payer, its providers and members with CARIN Blue Button
// 1.0.0 claims (ExplanationOfBenefit, Coverage) and US Core 3.1.1 clinical data.
//
// The output depends only on DemoOptions: no clock, no std::random distributions (their results
// differ between standard libraries), no hash-order iteration. The same options give byte-identical
// resources on every run and platform.
//
// Layout of the generated set:
//  * shared resources: payer and provider Organizations, Practitioners, PractitionerRoles,
//    Locations, Endpoints and a Medication;
//  * Patient/demo-member-1 (adult subscriber): every CARIN BB EOB type and every US Core 3.1.1
//    profile, so a single patient-scoped token can exercise the whole API;
//  * Patient/demo-member-2 (minor, dependent of member 1, who is the parent and delegate), linked
//    through a RelatedPerson and a Coverage with relationship "child";
//  * Patient/demo-member-3 .. N: smaller PRNG-generated members for bulk and load testing.
// Every reference is a relative "Type/id" that resolves within the set. A member's content does not
// depend on `members`, so the output for N members is a prefix of the output for N+k members.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace portico::app {

struct DemoOptions {
  // Number of members (Patients). 0 yields only the shared resources; 1 only the adult showcase
  // member; 2 adds the child; every further member is synthetic.
  int members = 3;
  // Seeds the PRNG that varies amounts, dates and the synthetic members.
  uint64_t seed = 42;
  // "As of" date (YYYY-MM-DD). All dates are derived from it; no event lies after it (only
  // device expiration and goal due dates do). An invalid value falls back to the default.
  std::string base_date = "2024-06-01";
};

struct DemoResource {
  std::string type;  // resourceType, e.g. "ExplanationOfBenefit"
  std::string id;    // logical id, a valid FHIR id
  std::string json;  // the minified FHIR R4 resource
};

// Stable ids callers (tests, docs, seed scripts) may rely on.
inline constexpr char kDemoAdultMemberId[] = "demo-member-1";
inline constexpr char kDemoChildMemberId[] = "demo-member-2";
inline constexpr char kDemoPayerId[] = "demo-payer";

// Generates the demo set: shared resources first, then the members in order.
std::vector<DemoResource> GenerateDemoData(const DemoOptions& options);

// Writes the resources as NDJSON: one resource per line, each line ending in '\n'.
std::string ToNdjson(const std::vector<DemoResource>& resources);

}  // namespace portico::app
