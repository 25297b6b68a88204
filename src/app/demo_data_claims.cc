// Demo data: CARIN Blue Button 1.0.0 Coverage and ExplanationOfBenefit resources.
#include <array>
#include <cstdio>
#include <string>

#include "src/app/demo_data.h"
#include "src/app/demo_data_internal.h"

namespace portico::app::demo {
namespace {

constexpr char kClaimTypeSystem[] = "http://terminology.hl7.org/CodeSystem/claim-type";
constexpr char kAdjSystem[] = "http://terminology.hl7.org/CodeSystem/adjudication";
constexpr char kC4bbAdj[] = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication";
constexpr char kC4bbStatus[] =
    "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBPayerAdjudicationStatus";
constexpr char kC4bbInfo[] = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType";
constexpr char kC4bbTeamRole[] = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole";
constexpr char kC4bbDxType[] = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimDiagnosisType";
constexpr char kExDxType[] = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype";
constexpr char kCpt[] = "http://www.ama-assn.org/go/cpt";
constexpr char kIcd10Pcs[] = "http://www.cms.gov/Medicare/Coding/ICD10";
constexpr char kRevenue[] = "https://www.nubc.org/CodeSystem/RevenueCodes";
constexpr char kNdc[] = "http://hl7.org/fhir/sid/ndc";
constexpr char kPos[] =
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";
constexpr char kNcpdp[] = "http://terminology.hl7.org/CodeSystem/NCPDP/";

struct Line {
  const char* revenue;  // NUBC revenue code (institutional) or nullptr
  const char* code;     // CPT/HCPCS or NDC
  const char* display;
  int64_t cents;  // typical billed amount
};

struct ClaimTemplate {
  const char* dx[3];  // ICD-10-CM, principal first; nullptr ends
  const char* dx_display[3];
  const char* proc[2];  // ICD-10-PCS (inpatient only)
  const char* drg;      // MS-DRG (inpatient only)
  const char* admtype;  // NUBC priority of admission
  Line lines[3];        // code == nullptr ends
};

constexpr std::array<ClaimTemplate, 3> kInpatient = {{
    {{"I21.4", "I10", "E11.9"},
     {"Non-ST elevation (NSTEMI) myocardial infarction", "Essential (primary) hypertension",
      "Type 2 diabetes mellitus without complications"},
     {"4A023N7", "B211YZZ"},
     "282",
     "1",
     {{"0120", "99223", "Initial hospital inpatient care, high complexity", 185000},
      {"0300", "80053", "Comprehensive metabolic panel", 21000},
      {"0481", "93458", "Left heart catheterization with coronary angiography", 1240000}}},
    {{"J18.9", "J44.1", nullptr},
     {"Pneumonia, unspecified organism",
      "Chronic obstructive pulmonary disease with (acute) exacerbation", nullptr},
     {"BW03ZZZ", nullptr},
     "194",
     "1",
     {{"0120", "99223", "Initial hospital inpatient care, high complexity", 185000},
      {"0250", "J0696", "Injection, ceftriaxone sodium, per 250 mg", 9500},
      {"0324", "71046", "Radiologic examination, chest; 2 views", 32000}}},
    {{"M17.11", "I10", nullptr},
     {"Unilateral primary osteoarthritis, right knee", "Essential (primary) hypertension", nullptr},
     {"0SRC0J9", nullptr},
     "470",
     "3",
     {{"0120", "99222", "Initial hospital inpatient care, moderate complexity", 152000},
      {"0360", "27447", "Arthroplasty, knee, condyle and plateau", 3150000},
      {"0420", "97161", "Physical therapy evaluation, low complexity", 24000}}},
}};

constexpr std::array<ClaimTemplate, 3> kOutpatient = {{
    {{"R07.9", "I10", nullptr},
     {"Chest pain, unspecified", "Essential (primary) hypertension", nullptr},
     {nullptr, nullptr},
     nullptr,
     "1",
     {{"0450", "99284", "Emergency department visit, moderate severity", 98000},
      {"0730", "93005", "Electrocardiogram, tracing only", 21000},
      {"0300", "84484", "Troponin, quantitative", 16000}}},
    {{"Z12.11", nullptr, nullptr},
     {"Encounter for screening for malignant neoplasm of colon", nullptr, nullptr},
     {nullptr, nullptr},
     nullptr,
     "3",
     {{"0750", "45378", "Colonoscopy, flexible; diagnostic", 265000},
      {"0370", "00811", "Anesthesia for lower intestinal endoscopic procedures", 78000},
      {nullptr, nullptr, nullptr, 0}}},
    {{"M25.561", nullptr, nullptr},
     {"Pain in right knee", nullptr, nullptr},
     {nullptr, nullptr},
     nullptr,
     "3",
     {{"0610", "73721", "MRI any joint of lower extremity without contrast", 189000},
      {nullptr, nullptr, nullptr, 0},
      {nullptr, nullptr, nullptr, 0}}},
}};

constexpr std::array<ClaimTemplate, 5> kProfessional = {{
    {{"I10", "E11.9", nullptr},
     {"Essential (primary) hypertension", "Type 2 diabetes mellitus without complications",
      nullptr},
     {nullptr, nullptr},
     nullptr,
     nullptr,
     {{nullptr, "99214", "Office visit, established patient, moderate complexity", 21500},
      {nullptr, "83036", "Hemoglobin; glycosylated (A1C)", 4200},
      {nullptr, nullptr, nullptr, 0}}},
    {{"R00.2", "I10", nullptr},
     {"Palpitations", "Essential (primary) hypertension", nullptr},
     {nullptr, nullptr},
     nullptr,
     nullptr,
     {{nullptr, "99204", "Office visit, new patient, moderate complexity", 32000},
      {nullptr, "93000", "Electrocardiogram, complete", 6500},
      {nullptr, nullptr, nullptr, 0}}},
    {{"Z00.00", nullptr, nullptr},
     {"Encounter for general adult medical examination without abnormal findings", nullptr,
      nullptr},
     {nullptr, nullptr},
     nullptr,
     nullptr,
     {{nullptr, "99396", "Preventive visit, established patient, age 40-64", 27500},
      {nullptr, "90686", "Influenza virus vaccine, quadrivalent, preservative free", 3800},
      {nullptr, "90471", "Immunization administration", 2800}}},
    {{"Z00.129", nullptr, nullptr},
     {"Encounter for routine child health examination without abnormal findings", nullptr, nullptr},
     {nullptr, nullptr},
     nullptr,
     nullptr,
     {{nullptr, "99392", "Preventive visit, established patient, age 1-4", 19500},
      {nullptr, "90707", "Measles, mumps and rubella virus vaccine, live", 9800},
      {nullptr, "90460", "Immunization administration through age 18", 3200}}},
    {{"H66.91", nullptr, nullptr},
     {"Otitis media, unspecified, right ear", nullptr, nullptr},
     {nullptr, nullptr},
     nullptr,
     nullptr,
     {{nullptr, "99213", "Office visit, established patient, low complexity", 14500},
      {nullptr, nullptr, nullptr, 0},
      {nullptr, nullptr, nullptr, 0}}},
}};

struct Drug {
  const char* ndc;
  const char* display;
  int days;
  int quantity;
  int64_t cents;
  bool generic;
};

constexpr std::array<Drug, 5> kDrugs = {{
    {"0069-1530-68", "Norvasc 5 MG Oral Tablet (amlodipine)", 30, 30, 2400, false},
    {"0093-7267-01", "Metformin hydrochloride 500 MG Extended Release Oral Tablet", 90, 90, 1800,
     true},
    {"68180-0513-01", "Lisinopril 10 MG Oral Tablet", 90, 90, 1200, true},
    {"0071-0155-23", "Atorvastatin calcium 10 MG Oral Tablet", 30, 30, 3100, true},
    {"0093-4150-73", "Amoxicillin 250 MG/5 ML Oral Suspension", 10, 100, 1500, true},
}};

Value Cat(std::string_view system, const char* code, const char* display) {
  return O("coding", A(Coding(system, code, display != nullptr ? display : "")));
}

Value InfoCategory(const char* code) { return Cat(kC4bbInfo, code, nullptr); }

struct Amounts {
  int64_t submitted = 0;
  int64_t eligible = 0;
  int64_t deductible = 0;
  int64_t copay = 0;
  int64_t coinsurance = 0;
  int64_t benefit = 0;
  int64_t noncovered = 0;
  int64_t discount = 0;
  int64_t member_liability = 0;
  int64_t paid_by_patient = 0;

  void Add(const Amounts& o) {
    submitted += o.submitted;
    eligible += o.eligible;
    deductible += o.deductible;
    copay += o.copay;
    coinsurance += o.coinsurance;
    benefit += o.benefit;
    noncovered += o.noncovered;
    discount += o.discount;
    member_liability += o.member_liability;
    paid_by_patient += o.paid_by_patient;
  }
};

Amounts Adjudicate(int64_t billed, int64_t copay, bool deductible_applies, Rng& rng) {
  Amounts a;
  a.submitted = billed;
  a.eligible = billed * rng.Range(55, 85) / 100;
  a.discount = a.submitted - a.eligible;
  int64_t remaining = a.eligible;
  a.copay = copay < remaining ? copay : remaining;
  remaining -= a.copay;
  if (deductible_applies) {
    a.deductible = remaining / 4 < 50000 ? remaining / 4 : 50000;
    remaining -= a.deductible;
  }
  a.coinsurance = remaining * 2 / 10;
  remaining -= a.coinsurance;
  a.benefit = remaining;
  a.member_liability = a.copay + a.deductible + a.coinsurance;
  a.paid_by_patient = a.copay;
  return a;
}

Value Adjudication(const char* system, const char* code, const char* display, int64_t cents) {
  return O("category", Cat(system, code, display), "amount", Money(cents));
}

// Line-level adjudication: the amounts that vary per line (zero deductions left out).
Value ItemAdjudication(const Amounts& a, bool with_network) {
  Value list = A(Adjudication(kAdjSystem, "submitted", "Submitted Amount", a.submitted),
                 Adjudication(kAdjSystem, "eligible", "Eligible Amount", a.eligible));
  if (a.deductible > 0) {
    list.Push(Adjudication(kAdjSystem, "deductible", "Deductible", a.deductible));
  }
  if (a.copay > 0) {
    list.Push(Adjudication(kAdjSystem, "copay", "CoPay", a.copay));
  }
  if (a.coinsurance > 0) {
    list.Push(Adjudication(kC4bbAdj, "coinsurance", "Co-insurance", a.coinsurance));
  }
  list.Push(Adjudication(kAdjSystem, "benefit", "Benefit Amount", a.benefit));
  if (with_network) {
    list.Push(O("category", Cat(kC4bbStatus, "innetwork", "In Network")));
  }
  return list;
}

// Claim totals: every CARIN BB amount category, zeros included.
Value TotalAdjudication(const Amounts& a) {
  return A(Adjudication(kAdjSystem, "submitted", "Submitted Amount", a.submitted),
           Adjudication(kAdjSystem, "eligible", "Eligible Amount", a.eligible),
           Adjudication(kAdjSystem, "deductible", "Deductible", a.deductible),
           Adjudication(kAdjSystem, "copay", "CoPay", a.copay),
           Adjudication(kC4bbAdj, "coinsurance", "Co-insurance", a.coinsurance),
           Adjudication(kC4bbAdj, "noncovered", "Noncovered", a.noncovered),
           Adjudication(kC4bbAdj, "discount", "Discount", a.discount),
           Adjudication(kAdjSystem, "benefit", "Benefit Amount", a.benefit),
           Adjudication(kC4bbAdj, "memberliability", "Member liability", a.member_liability),
           Adjudication(kC4bbAdj, "paidbypatient", "Paid by patient", a.paid_by_patient),
           Adjudication(kC4bbAdj, "paidtoprovider", "Paid to provider", a.benefit));
}

const char* ProfileFor(EobKind kind) {
  switch (kind) {
    case EobKind::kInpatient:
      return "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
             "C4BB-ExplanationOfBenefit-Inpatient-Institutional";
    case EobKind::kOutpatient:
      return "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
             "C4BB-ExplanationOfBenefit-Outpatient-Institutional";
    case EobKind::kPharmacy:
      return "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
             "C4BB-ExplanationOfBenefit-Pharmacy";
    case EobKind::kProfessional:
      break;
  }
  return "http://hl7.org/fhir/us/carin-bb/StructureDefinition/"
         "C4BB-ExplanationOfBenefit-Professional-NonClinician";
}

// Diagnoses of a template; institutional claims mark present-on-admission.
Value Diagnoses(const ClaimTemplate& t, EobKind kind) {
  Value list = Value::MakeArray();
  for (int i = 0; i < 3 && t.dx[i] != nullptr; ++i) {
    Value type;
    if (i == 0) {
      type = Cat(kExDxType, "principal", "Principal Diagnosis");
    } else if (kind == EobKind::kProfessional) {
      type = Cat(kC4bbDxType, "secondary", "Secondary");
    } else {
      type = Cat(kC4bbDxType, "other", "Other");
    }
    Value on_admission;
    if (kind == EobKind::kInpatient) {
      on_admission =
          Cat("http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission", "y", "Yes");
    }
    list.Push(O("sequence", i + 1, "diagnosisCodeableConcept",
                Concept(kIcd10Cm, t.dx[i], t.dx_display[i]), "type", A(std::move(type)),
                "onAdmission", std::move(on_admission)));
  }
  return list;
}

}  // namespace

std::string_view EobKindSlug(EobKind kind) {
  switch (kind) {
    case EobKind::kInpatient:
      return "inpatient";
    case EobKind::kOutpatient:
      return "outpatient";
    case EobKind::kPharmacy:
      return "pharmacy";
    case EobKind::kProfessional:
      break;
  }
  return "professional";
}

Value BuildCoverage(const Gen& gen, const Member& m, const Member& subscriber,
                    std::string_view relationship, int64_t start_day, int dependent) {
  const bool self = m.id == subscriber.id;
  char dep[8];
  std::snprintf(dep, sizeof(dep), "%02d", dependent);
  return O(
      "resourceType", "Coverage", "id", m.coverage_id, "meta",
      gen.Meta({"http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Coverage"}), "identifier",
      A(O("type", Concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MB", "Member Number"),
          "system", kMemberIdSystem, "value", m.member_id, "assigner",
          Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId)))),
      "status", "active", "type",
      Concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HIP",
              "health insurance plan policy"),
      "policyHolder", Ref("Patient", subscriber.id, subscriber.name), "subscriber",
      Ref("Patient", subscriber.id, subscriber.name), "subscriberId", subscriber.member_id,
      "beneficiary", Ref("Patient", m.id, m.name), "dependent", dep, "relationship",
      Concept("http://terminology.hl7.org/CodeSystem/subscriber-relationship", relationship,
              self ? "Self" : (relationship == "child" ? "Child" : "Spouse")),
      "period", Period(Date(start_day)), "payor",
      A(Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId))), "class",
      A(O("type", Concept("http://terminology.hl7.org/CodeSystem/coverage-class", "group", "Group"),
          "value", "PDHP-GRP-100", "name", "Portico Demo Employer Group"),
        O("type", Concept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan", "Plan"),
          "value", "PDHP-PPO-GOLD", "name", "Portico Demo Gold PPO")),
      "network", "Portico Demo PPO Network");
}

Value BuildEob(const Gen& gen, const Member& m, const EobInput& in, Rng& rng) {
  const EobKind kind = in.kind;
  const bool institutional = kind == EobKind::kInpatient || kind == EobKind::kOutpatient;
  const ClaimTemplate* t = nullptr;
  const Drug* drug = nullptr;
  int los = 0;
  switch (kind) {
    case EobKind::kInpatient:
      t = &kInpatient[static_cast<size_t>(in.variant) % kInpatient.size()];
      los = static_cast<int>(rng.Range(2, 6));
      break;
    case EobKind::kOutpatient:
      t = &kOutpatient[static_cast<size_t>(in.variant) % kOutpatient.size()];
      break;
    case EobKind::kProfessional:
      t = &kProfessional[static_cast<size_t>(in.variant) % kProfessional.size()];
      break;
    case EobKind::kPharmacy:
      drug = &kDrugs[static_cast<size_t>(in.variant) % kDrugs.size()];
      break;
  }
  const int64_t start = in.start_day;
  const int64_t end = start + los;
  const int64_t received = end + rng.Range(2, 12);
  const int64_t created = received + rng.Range(1, 10);
  const int64_t paid = created + rng.Range(1, 7);
  const std::string practitioner = PractitionerId(in.practitioner);
  const char* provider_org = kOrgClinic;
  if (institutional) {
    provider_org = kOrgHospital;
  } else if (kind == EobKind::kPharmacy) {
    provider_org = kOrgPharmacy;
  }

  // identifier: the payer's unique claim id.
  std::string claim_number = "PDHP" + std::to_string(gen.base_day % 1000);
  claim_number += "-" + std::to_string(m.index) + "-" + std::string(EobKindSlug(kind)) + "-" +
                  std::to_string(rng.Range(100000, 999999));

  Value type;
  Value sub_type;
  switch (kind) {
    case EobKind::kInpatient:
    case EobKind::kOutpatient:
      type = Concept(kClaimTypeSystem, "institutional", "Institutional");
      sub_type = Concept("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBInstitutionalClaimSubType",
                         kind == EobKind::kInpatient ? "inpatient" : "outpatient",
                         kind == EobKind::kInpatient ? "Inpatient" : "Outpatient");
      break;
    case EobKind::kPharmacy:
      type = Concept(kClaimTypeSystem, "pharmacy", "Pharmacy");
      break;
    case EobKind::kProfessional:
      type = Concept(kClaimTypeSystem, "professional", "Professional");
      break;
  }

  // careTeam
  Value care_team;
  if (institutional) {
    care_team =
        A(O("sequence", 1, "provider",
            Ref("Practitioner", practitioner, PractitionerName(in.practitioner)), "role",
            Cat(kC4bbTeamRole, "attending", "Attending")),
          O("sequence", 2, "provider", Ref("Practitioner", PractitionerId(1), PractitionerName(1)),
            "role", Cat(kC4bbTeamRole, "referring", "Referring")));
  } else if (kind == EobKind::kPharmacy) {
    care_team = A(O("sequence", 1, "provider",
                    Ref("Practitioner", practitioner, PractitionerName(in.practitioner)), "role",
                    Cat(kC4bbTeamRole, "prescribing", "Prescribing provider")));
  } else {
    care_team = A(O("sequence", 1, "provider",
                    Ref("Practitioner", practitioner, PractitionerName(in.practitioner)), "role",
                    Cat(kC4bbTeamRole, "performing", "Performing provider"), "qualification",
                    Concept("http://nucc.org/provider-taxonomy",
                            in.practitioner == 4 ? "208000000X" : "207Q00000X")));
  }

  // supportingInfo
  Value info = Value::MakeArray();
  int seq = 0;
  auto add_code = [&](const char* category, Value code) {
    info.Push(O("sequence", ++seq, "category", InfoCategory(category), "code", std::move(code)));
  };
  add_code("billingnetworkcontractingstatus", Cat(kC4bbStatus, "contracted", "Contracted"));
  if (kind == EobKind::kProfessional) {
    add_code("performingnetworkcontractingstatus", Cat(kC4bbStatus, "contracted", "Contracted"));
  }
  info.Push(
      O("sequence", ++seq, "category", InfoCategory("clmrecvddate"), "timingDate", Date(received)));
  if (kind == EobKind::kInpatient) {
    info.Push(O("sequence", ++seq, "category", InfoCategory("admissionperiod"), "timingPeriod",
                Period(Date(start), Date(end))));
  }
  if (institutional) {
    add_code("typeofbill", Cat("https://www.nubc.org/CodeSystem/TypeOfBill",
                               kind == EobKind::kInpatient ? "0111" : "0131", nullptr));
    add_code("pointoforigin", Cat("https://www.nubc.org/CodeSystem/PointOfOrigin", "1", nullptr));
    add_code("admtype", Cat("https://www.nubc.org/CodeSystem/PriorityTypeOfAdmitOrVisit",
                            t->admtype, nullptr));
    add_code("discharge-status",
             Cat("https://www.nubc.org/CodeSystem/PatDischargeStatus", "01", nullptr));
  }
  if (kind == EobKind::kInpatient) {
    add_code("drg", Cat("https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/"
                        "AcuteInpatientPPS/MS-DRG-Classifications-and-Software",
                        t->drg, nullptr));
  }
  if (kind == EobKind::kProfessional) {
    info.Push(O("sequence", ++seq, "category", InfoCategory("servicefacility"), "valueReference",
                Ref("Organization", provider_org, OrganizationName(provider_org))));
  }
  const int refill = static_cast<int>(rng.Range(0, 5));
  if (kind == EobKind::kPharmacy) {
    info.Push(O("sequence", ++seq, "category", InfoCategory("dayssupply"), "valueQuantity",
                O("value", drug->days)));
    add_code(
        "dawcode",
        Cat("http://terminology.hl7.org/CodeSystem/NCPDP/DispensedAsWrittenOrProductSelectionCode",
            "0", "No product selection indicated"));
    info.Push(O("sequence", ++seq, "category", InfoCategory("refillnum"), "valueQuantity",
                O("value", refill)));
    info.Push(O("sequence", ++seq, "category", InfoCategory("refillsauthorized"), "valueQuantity",
                O("value", 5)));
    add_code("brandgenericcode",
             Cat((std::string(kNcpdp) + "BrandGenericIndicator").c_str(), drug->generic ? "2" : "1",
                 drug->generic ? "Generic" : "Brand"));
    add_code("rxorigincode",
             Cat((std::string(kNcpdp) + "PrescriptionOriginCode").c_str(), "1", "Written"));
    add_code("compoundcode",
             Cat((std::string(kNcpdp) + "CompoundCode").c_str(), "1", "Not a compound"));
  }

  // item + totals
  Value items = Value::MakeArray();
  Amounts total;
  if (kind == EobKind::kPharmacy) {
    Amounts a =
        Adjudicate(drug->cents * rng.Range(90, 130) / 100, drug->generic ? 1000 : 3500, false, rng);
    total.Add(a);
    items.Push(O("sequence", 1, "careTeamSequence", A(1), "productOrService",
                 Concept(kNdc, drug->ndc, drug->display), "servicedDate", Date(start), "quantity",
                 O("value", drug->quantity), "adjudication", ItemAdjudication(a, false)));
  } else {
    for (int i = 0; i < 3 && t->lines[i].code != nullptr; ++i) {
      const Line& line = t->lines[i];
      Amounts a = Adjudicate(line.cents * rng.Range(85, 125) / 100,
                             i == 0 ? (institutional ? 15000 : 2500) : 0, i == 0, rng);
      total.Add(a);
      Value item = O("sequence", i + 1, "careTeamSequence", A(1), "diagnosisSequence",
                     kind == EobKind::kProfessional ? A(1) : Value(), "revenue",
                     line.revenue != nullptr ? Concept(kRevenue, line.revenue) : Value(),
                     "productOrService", Concept(kCpt, line.code, line.display));
      if (kind == EobKind::kInpatient) {
        item.Set("servicedPeriod", Period(Date(start), Date(end)));
      } else {
        item.Set("servicedDate", J(Date(start)));
      }
      if (kind == EobKind::kProfessional) {
        item.Set("locationCodeableConcept", Concept(kPos, "11", "Office"));
      }
      item.Set("quantity", O("value", 1));
      item.Set("adjudication", ItemAdjudication(a, kind == EobKind::kProfessional));
      items.Push(std::move(item));
    }
  }

  Value procedures;
  if (kind == EobKind::kInpatient) {
    procedures = Value::MakeArray();
    for (int i = 0; i < 2 && t->proc[i] != nullptr; ++i) {
      procedures.Push(O("sequence", i + 1, "type",
                        A(Cat("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimProcedureType",
                              i == 0 ? "principal" : "other", i == 0 ? "Principal" : "Other")),
                        "date", DateTime(start + (i == 0 ? 0 : 1), 600), "procedureCodeableConcept",
                        Concept(kIcd10Pcs, t->proc[i])));
    }
  }

  Value totals = TotalAdjudication(total);
  Value res = O(
      "resourceType", "ExplanationOfBenefit", "id", in.id, "meta", gen.Meta({ProfileFor(kind)}),
      "identifier",
      A(O("type",
          Concept("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType", "uc",
                  "Unique Claim ID"),
          "system", "https://portico.example/fhir/claim-id", "value", claim_number)),
      "status", "active", "type", std::move(type), "subType", std::move(sub_type), "use", "claim",
      "patient", Ref("Patient", m.id, m.name), "billablePeriod", Period(Date(start), Date(end)),
      "created", DateTime(created, 540), "insurer",
      Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId)), "provider",
      Ref("Organization", provider_org, OrganizationName(provider_org)), "payee",
      O("type", Concept("http://terminology.hl7.org/CodeSystem/payeetype", "provider", "Provider"),
        "party", Ref("Organization", provider_org)),
      "outcome", "complete", "careTeam", std::move(care_team), "supportingInfo", std::move(info),
      "diagnosis", t != nullptr ? Diagnoses(*t, kind) : Value(), "procedure", std::move(procedures),
      "insurance", A(O("focal", true, "coverage", Ref("Coverage", m.coverage_id))), "item",
      std::move(items), "total", std::move(totals), "payment",
      O("type", Cat(kC4bbStatus, "paid", "Paid"), "date", Date(paid), "amount",
        Money(total.benefit)));
  return res;
}

}  // namespace portico::app::demo
