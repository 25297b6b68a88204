// Demo data: the adult showcase member's clinical record, one or more resources of every US Core
// 3.1.1 profile plus PDex MedicationDispense and R4 MedicationStatement.
#include <cstdio>
#include <string>
#include <vector>

#include "src/app/demo_data.h"
#include "src/app/demo_data_internal.h"

namespace portico::app::demo {
namespace {

constexpr char kUsCoreSd[] = "http://hl7.org/fhir/us/core/StructureDefinition/";
constexpr char kActCode[] = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
constexpr char kCvx[] = "http://hl7.org/fhir/sid/cvx";
constexpr char kDocCategory[] =
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category";

std::string P(const char* name) { return std::string(kUsCoreSd) + name; }

class AdultRecord {
 public:
  AdultRecord(const Gen& gen, const Member& m, Rng& rng) : gen_(gen), m_(m), rng_(rng) {}

  void Emit();

 private:
  void Add(const Value& v) {
    gen_.Emit(v);
    targets_.push_back(Ref(v.GetString("resourceType"), v.GetString("id")));
  }
  Value Subject() const { return Ref("Patient", m_.id, m_.name); }
  Value Meta(const char* profile) const { return gen_.Meta({P(profile)}); }

  void Encounters();
  void Conditions();
  void Allergies();
  void Vitals();
  void Labs();
  void Notes();
  void Medications();
  void Immunizations();
  void ProceduresAndDevices();
  void CarePlanning();
  void Provenance();

  const Gen& gen_;
  const Member& m_;
  Rng& rng_;
  std::vector<Value> targets_;
  // Key days.
  int64_t office_ = 0;     // recent office visit
  int64_t emergency_ = 0;  // ED visit
  int64_t admit_ = 0;      // inpatient admission (3 nights)
};

constexpr char kOffice[] = "demo-encounter-1-office";
constexpr char kEmergency[] = "demo-encounter-1-emergency";
constexpr char kInpatient[] = "demo-encounter-1-inpatient";

void AdultRecord::Emit() {
  office_ = gen_.base_day - 30 - rng_.Range(0, 10);
  emergency_ = gen_.base_day - 300 - rng_.Range(0, 30);
  admit_ = gen_.base_day - 420 - rng_.Range(0, 30);
  Encounters();
  Conditions();
  Allergies();
  Vitals();
  Labs();
  Notes();
  Medications();
  Immunizations();
  ProceduresAndDevices();
  CarePlanning();
  Provenance();
}

void AdultRecord::Encounters() {
  struct Enc {
    const char* id;
    const char* number;
    const char* cls;
    const char* cls_display;
    const char* type_code;
    const char* type_display;
    const char* reason;
    const char* reason_display;
    int64_t day;
    int nights;
    int practitioner;
    const char* location;
    const char* org;
  };
  const Enc encs[] = {
      {kOffice, "ENC-1-1", "AMB", "ambulatory", "185349003", "Encounter for check up", "38341003",
       "Hypertensive disorder, systemic arterial", office_, 0, 1, kLocationClinic, kOrgClinic},
      {kEmergency, "ENC-1-2", "EMER", "emergency", "50849002", "Emergency room admission",
       "29857009", "Chest pain", emergency_, 0, 2, kLocationHospital, kOrgHospital},
      {kInpatient, "ENC-1-3", "IMP", "inpatient encounter", "32485007", "Hospital admission",
       "239873007", "Osteoarthritis of knee", admit_, 3, 3, kLocationHospital, kOrgHospital},
  };
  for (const Enc& e : encs) {
    const std::string start = DateTime(e.day, 540);
    const std::string end = DateTime(e.day + e.nights, e.nights > 0 ? 660 : 600);
    Value hospitalization;
    if (e.nights > 0) {
      hospitalization =
          O("admitSource",
            Concept("http://terminology.hl7.org/CodeSystem/admit-source", "phys",
                    "Physician referral"),
            "dischargeDisposition",
            Concept("http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home"));
    }
    Add(O(
        "resourceType", "Encounter", "id", e.id, "meta", Meta("us-core-encounter"), "identifier",
        A(O("system", "https://portico.example/fhir/encounter-id", "value", e.number)), "status",
        "finished", "class", Coding(kActCode, e.cls, e.cls_display), "type",
        A(Concept("http://snomed.info/sct", e.type_code, e.type_display, e.type_display)),
        "subject", Subject(), "participant",
        A(O("type",
            A(Concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND",
                      "attender")),
            "period", Period(start, end), "individual",
            Ref("Practitioner", PractitionerId(e.practitioner), PractitionerName(e.practitioner)))),
        "period", Period(start, end), "reasonCode", A(Concept(kSnomed, e.reason, e.reason_display)),
        "hospitalization", std::move(hospitalization), "location",
        A(O("location", Ref("Location", e.location), "period", Period(start, end))),
        "serviceProvider", Ref("Organization", e.org, OrganizationName(e.org))));
  }
}

void AdultRecord::Conditions() {
  Add(ProblemCondition(gen_, m_, "demo-condition-1-hypertension", 0,
                       gen_.base_day - 2900 - rng_.Range(0, 60)));
  Add(ProblemCondition(gen_, m_, "demo-condition-1-diabetes", 1,
                       gen_.base_day - 2100 - rng_.Range(0, 60)));
  Add(ProblemCondition(gen_, m_, "demo-condition-1-osteoarthritis", 4,
                       gen_.base_day - 1500 - rng_.Range(0, 60)));
  Add(O("resourceType", "Condition", "id", "demo-condition-1-chest-pain", "meta",
        Meta("us-core-condition"), "clinicalStatus",
        Concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved"),
        "verificationStatus",
        Concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed",
                "Confirmed"),
        "category",
        A(Concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis",
                  "Encounter Diagnosis")),
        "severity", Concept(kSnomed, "6736007", "Moderate"), "code",
        O("coding",
          A(Coding(kSnomed, "29857009", "Chest pain"),
            Coding(kIcd10Cm, "R07.9", "Chest pain, unspecified")),
          "text", "Chest pain"),
        "subject", Subject(), "encounter", Ref("Encounter", kEmergency), "onsetDateTime",
        DateTime(emergency_, 420), "abatementDateTime", DateTime(emergency_ + 1, 600),
        "recordedDate", DateTime(emergency_, 560), "recorder",
        Ref("Practitioner", PractitionerId(2)), "asserter",
        Ref("Practitioner", PractitionerId(2))));
}

void AdultRecord::Allergies() {
  struct Allergy {
    const char* id;
    const char* category;
    const char* system;
    const char* code;
    const char* display;
    const char* reaction;
    const char* reaction_display;
    const char* severity;
    int64_t years;
  };
  const Allergy allergies[] = {
      {"demo-allergy-1-penicillin", "medication", kRxNorm, "7980", "Penicillin G", "247472004",
       "Hives", "moderate", 30},
      {"demo-allergy-1-peanut", "food", kSnomed, "256349002", "Peanut - dietary", "39579001",
       "Anaphylaxis", "severe", 45},
  };
  for (const Allergy& a : allergies) {
    const int64_t onset = YearsBefore(gen_.base_day, static_cast<int>(a.years));
    Add(O("resourceType", "AllergyIntolerance", "id", a.id, "meta",
          Meta("us-core-allergyintolerance"), "clinicalStatus",
          Concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active",
                  "Active"),
          "verificationStatus",
          Concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                  "confirmed", "Confirmed"),
          "type", "allergy", "category", A(a.category), "criticality", "high", "code",
          Concept(a.system, a.code, a.display, a.display), "patient", Subject(), "onsetDateTime",
          Date(onset), "recordedDate", DateTime(office_, 560), "recorder",
          Ref("Practitioner", PractitionerId(1)), "reaction",
          A(O("manifestation", A(Concept(kSnomed, a.reaction, a.reaction_display)), "severity",
              a.severity))));
  }
}

void AdultRecord::Vitals() {
  const std::string at = DateTime(office_, 550);
  const std::string obs = "demo-obs-1-";
  Add(VitalSign(gen_, m_, obs + "bp", "bp", rng_.Range(124, 138) * 1000 + rng_.Range(78, 88), at,
                kOffice));
  Add(VitalSign(gen_, m_, obs + "heart-rate", "heart-rate", 10 * rng_.Range(62, 80), at, kOffice));
  Add(VitalSign(gen_, m_, obs + "resp-rate", "resp-rate", 10 * rng_.Range(13, 18), at, kOffice));
  Add(VitalSign(gen_, m_, obs + "temp", "temp", rng_.Range(364, 372), at, kOffice));
  Add(VitalSign(gen_, m_, obs + "height", "height", 1780, at, kOffice));
  const int64_t weight = rng_.Range(840, 900);
  Add(VitalSign(gen_, m_, obs + "weight", "weight", weight, at, kOffice));
  // BMI = kg / m^2 with height 1.78 m, kept to one decimal.
  Add(VitalSign(gen_, m_, obs + "bmi", "bmi", weight * 10000 / (178 * 178), at, kOffice));
  Add(VitalSign(gen_, m_, obs + "pulse-ox", "pulse-ox", rng_.Range(955, 990), at, kOffice));
  Add(VitalSign(gen_, m_, obs + "head-circ", "head-circ", 575, at, kOffice));
  // The emergency visit's diastolic value was not recorded (data-absent-reason "unknown").
  Add(VitalSign(gen_, m_, obs + "bp-emergency", "bp", rng_.Range(150, 165) * 1000,
                DateTime(emergency_, 440), kEmergency));
  // History for trend views.
  for (int i = 1; i <= 4; ++i) {
    const std::string past = DateTime(office_ - 180 * i - rng_.Range(0, 20), 560);
    Add(VitalSign(gen_, m_, obs + "bp-" + std::to_string(i), "bp",
                  rng_.Range(128, 146) * 1000 + rng_.Range(80, 94), past));
    Add(VitalSign(gen_, m_, obs + "weight-" + std::to_string(i), "weight",
                  weight + rng_.Range(5, 40), past));
  }
  Add(O("resourceType", "Observation", "id", obs + "smoking-status", "meta",
        Meta("us-core-smokingstatus"), "status", "final", "category",
        A(Concept("http://terminology.hl7.org/CodeSystem/observation-category", "social-history",
                  "Social History")),
        "code", Concept(kLoinc, "72166-2", "Tobacco smoking status", "Tobacco smoking status"),
        "subject", Subject(), "encounter", Ref("Encounter", kOffice), "effectiveDateTime", at,
        "issued", at, "valueCodeableConcept",
        Concept(kSnomed, "8517006", "Ex-smoker", "Former smoker")));
}

void AdultRecord::Labs() {
  const std::string at = DateTime(office_, 570);
  const std::string reported = DateTime(office_ + 1, 480);
  // Tests: 0 HbA1c, 1 glucose, 2 creatinine, 3 potassium, 4 sodium, 5 LDL, 6 hemoglobin,
  // 7 urine color.
  const char* slugs[] = {"hba1c",  "glucose", "creatinine", "potassium",
                         "sodium", "ldl",     "hemoglobin", "urine-color"};
  std::vector<Value> refs;
  for (int t = 0; t < LabTestCount() && t < 8; ++t) {
    const std::string id = std::string("demo-obs-1-lab-") + slugs[t];
    Add(LabObservation(gen_, m_, id, t, rng_, at, kOffice));
    refs.push_back(Ref("Observation", id));
  }
  // An older HbA1c for a trend.
  Add(LabObservation(gen_, m_, "demo-obs-1-lab-hba1c-previous", 0, rng_,
                     DateTime(office_ - 190, 570)));
  struct Panel {
    const char* id;
    const char* code;
    const char* display;
    int first;
    int count;
  };
  const Panel panels[] = {
      {"demo-diagnosticreport-1-lab-bmp", "51990-0", "Basic metabolic panel - Blood", 1, 4},
      {"demo-diagnosticreport-1-lab-a1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", 0,
       1},
      {"demo-diagnosticreport-1-lab-lipid", "57698-3",
       "Lipid panel with direct LDL - Serum or Plasma", 5, 1},
  };
  for (const Panel& p : panels) {
    Value results = Value::MakeArray();
    for (int i = p.first; i < p.first + p.count; ++i) {
      results.Push(refs[static_cast<size_t>(i)]);
    }
    Add(O("resourceType", "DiagnosticReport", "id", p.id, "meta",
          Meta("us-core-diagnosticreport-lab"), "status", "final", "category",
          A(Concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")), "code",
          Concept(kLoinc, p.code, p.display, p.display), "subject", Subject(), "encounter",
          Ref("Encounter", kOffice), "effectiveDateTime", at, "issued", reported, "performer",
          A(Ref("Organization", kOrgLab, OrganizationName(kOrgLab))), "result",
          std::move(results)));
  }
}

void AdultRecord::Notes() {
  struct Note {
    const char* slug;
    const char* loinc;
    const char* display;
    const char* encounter;
    int64_t day;
    int practitioner;
    const char* text;
    const char* report_category;  // DiagnosticReport note category (LOINC part), or nullptr
    const char* report_category_display;
    const char* report_code;
    const char* report_display;
  };
  const Note notes[] = {
      {"consult", "11488-4", "Consult note", kEmergency, emergency_, 2,
       "Cardiology consult: atypical chest pain, troponin negative. Recommend stress test.",
       nullptr, nullptr, nullptr, nullptr},
      {"discharge", "18842-5", "Discharge summary", kInpatient, admit_ + 3, 3,
       "Discharged home after uncomplicated right total knee arthroplasty. PT twice weekly.",
       nullptr, nullptr, nullptr, nullptr},
      {"history-physical", "34117-2", "History and physical note", kInpatient, admit_, 3,
       "52 y/o male admitted for elective right total knee arthroplasty. HTN, T2DM controlled.",
       nullptr, nullptr, nullptr, nullptr},
      {"procedure", "28570-0", "Procedure note", kInpatient, admit_, 3,
       "Right total knee arthroplasty, cemented. No complications. EBL 150 mL.", nullptr, nullptr,
       nullptr, nullptr},
      {"progress", "11506-3", "Progress note", kOffice, office_, 1,
       "Follow-up for hypertension and diabetes. BP near goal. Continue current regimen.", nullptr,
       nullptr, nullptr, nullptr},
      {"radiology", "18748-4", "Diagnostic imaging study", kEmergency, emergency_, 2,
       "XR chest 2 views: no acute cardiopulmonary process.", "LP29684-5", "Radiology", "36643-5",
       "XR Chest 2 Views"},
      {"cardiology", "11524-6", "EKG study", kEmergency, emergency_, 2,
       "12-lead ECG: normal sinus rhythm, rate 78, no ST changes.", "LP29708-2", "Cardiology",
       "11524-6", "EKG study"},
      {"pathology", "11526-1", "Pathology study", kInpatient, admit_ + 1, 3,
       "Right knee tissue: degenerative articular cartilage, no malignancy.", "LP7839-6",
       "Pathology", "11526-1", "Pathology study"},
  };
  for (const Note& n : notes) {
    const std::string docref_id = std::string("demo-docref-1-") + n.slug;
    const std::string when = DateTime(n.day, 900);
    const std::string text = n.text;
    // The DocumentReference and the DiagnosticReport of a report share this attachment URL, as
    // US Core's clinical notes guidance expects.
    const std::string url =
        std::string("https://documents.portico.example/demo-member-1/") + n.slug + ".txt";
    Value attachment =
        O("contentType", "text/plain", "language", "en-US", "data", Base64(text), "url", url,
          "size", static_cast<int64_t>(text.size()), "title", n.display, "creation", when);
    Add(O("resourceType", "DocumentReference", "id", docref_id, "meta",
          Meta("us-core-documentreference"), "identifier",
          A(O("system", "urn:ietf:rfc:3986", "value",
              "urn:oid:2.16.840.1.113883.19.5.99999." + std::to_string(m_.index) + "." +
                  std::to_string(n.day))),
          "status", "current", "docStatus", "final", "type",
          Concept(kLoinc, n.loinc, n.display, n.display), "category",
          A(Concept(kDocCategory, "clinical-note", "Clinical Note", "Clinical Note")), "subject",
          Subject(), "date", when, "author",
          A(Ref("Practitioner", PractitionerId(n.practitioner), PractitionerName(n.practitioner))),
          "custodian", Ref("Organization", kOrgHospital, OrganizationName(kOrgHospital)),
          "description", n.display, "content",
          A(O("attachment", attachment, "format",
              Coding("http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
                     "urn:ihe:iti:xds:2017:mimeTypeSufficient", "mimeType Sufficient"))),
          "context",
          O("encounter", A(Ref("Encounter", n.encounter)), "period",
            Period(DateTime(n.day, 540), when))));
    if (n.report_category == nullptr) {
      continue;
    }
    Add(O(
        "resourceType", "DiagnosticReport", "id", std::string("demo-diagnosticreport-1-") + n.slug,
        "meta", Meta("us-core-diagnosticreport-note"), "status", "final", "category",
        A(Concept(kLoinc, n.report_category, n.report_category_display, n.report_category_display)),
        "code", Concept(kLoinc, n.report_code, n.report_display, n.report_display), "subject",
        Subject(), "encounter", Ref("Encounter", n.encounter), "effectiveDateTime",
        DateTime(n.day, 600), "issued", when, "performer",
        A(Ref("Practitioner", PractitionerId(n.practitioner), PractitionerName(n.practitioner))),
        "conclusion", n.text, "presentedForm", A(std::move(attachment))));
  }
}

void AdultRecord::Medications() {
  const std::string authored = DateTime(office_, 600);
  auto dosage = [](const char* text) {
    return A(O("text", text, "timing",
               O("repeat", O("frequency", 1, "period", 1, "periodUnit", "d")), "route",
               Concept(kSnomed, "26643006", "Oral route"), "doseAndRate",
               A(O("doseQuantity", UcumQuantity(1, 0, "tablet", "{tbl}")))));
  };
  struct Rx {
    const char* slug;
    const char* medication;  // Medication id, or nullptr for a code
    const char* rxnorm;
    const char* display;
    int practitioner;
  };
  const Rx rxs[] = {
      {"lisinopril", nullptr, "314076", "lisinopril 10 MG Oral Tablet", 1},
      {"amlodipine", kMedicationAmlodipine, nullptr, nullptr, 2},
      {"metformin", kMedicationMetformin, nullptr, nullptr, 1},
  };
  for (const Rx& rx : rxs) {
    Value res =
        O("resourceType", "MedicationRequest", "id",
          std::string("demo-medicationrequest-1-") + rx.slug, "meta",
          Meta("us-core-medicationrequest"), "status", "active", "intent", "order", "category",
          A(Concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "community",
                    "Community")),
          "reportedBoolean", false);
    if (rx.medication == nullptr) {
      res.Set("medicationCodeableConcept", Concept(kRxNorm, rx.rxnorm, rx.display, rx.display));
    } else {
      res.Set("medicationReference", Ref("Medication", rx.medication));
    }
    res.Set("subject", Subject());
    res.Set("encounter", Ref("Encounter", kOffice));
    res.Set("authoredOn", J(authored));
    res.Set("requester", Ref("Practitioner", PractitionerId(rx.practitioner),
                             PractitionerName(rx.practitioner)));
    res.Set("dosageInstruction", dosage("Take 1 tablet by mouth once daily"));
    res.Set("dispenseRequest", O("numberOfRepeatsAllowed", 3, "quantity",
                                 UcumQuantity(90, 0, "tablet", "{tbl}"), "expectedSupplyDuration",
                                 O("value", 90, "unit", "days", "system", kUcum, "code", "d")));
    Add(res);
  }
  // Da Vinci PDex dispenses of the amlodipine prescription: first fill and a refill.
  for (int i = 0; i < 2; ++i) {
    // office_ is at least 30 days before base_date, so both fills lie in the past.
    const int64_t handed = office_ + 1 + 28 * i;
    Add(O("resourceType", "MedicationDispense", "id",
          "demo-medicationdispense-1-amlodipine-" + std::to_string(i + 1), "meta",
          gen_.Meta({"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/"
                     "pdex-medicationdispense"}),
          "status", "completed", "medicationCodeableConcept",
          // PDex binds the dispensed drug to NDC (required); the RxNorm concept rides along.
          O("coding",
            A(Coding("http://hl7.org/fhir/sid/ndc", "0069-1530-68",
                     "Norvasc 5 MG Oral Tablet (amlodipine)"),
              Coding(kRxNorm, "197361", "amlodipine 5 MG Oral Tablet")),
            "text", "amlodipine 5 MG Oral Tablet"),
          "subject", Subject(), "performer",
          A(O("actor", Ref("Organization", kOrgPharmacy, OrganizationName(kOrgPharmacy)))),
          "authorizingPrescription",
          A(Ref("MedicationRequest", "demo-medicationrequest-1-amlodipine")), "type",
          Concept(kActCode, i == 0 ? "FF" : "RF", i == 0 ? "First Fill" : "Refill"), "quantity",
          UcumQuantity(30, 0, "tablet", "{tbl}"), "daysSupply",
          O("value", 30, "unit", "days", "system", kUcum, "code", "d"), "whenPrepared",
          DateTime(handed, 600), "whenHandedOver", DateTime(handed, 660), "dosageInstruction",
          dosage("Take 1 tablet by mouth once daily")));
  }
  // No IG here profiles MedicationStatement: claim the R4 base definition, as the server's
  // CapabilityStatement does.
  Add(O("resourceType", "MedicationStatement", "id", "demo-medicationstatement-1-aspirin", "meta",
        gen_.Meta({"http://hl7.org/fhir/StructureDefinition/MedicationStatement"}), "status",
        "active", "medicationCodeableConcept",
        Concept(kRxNorm, "243670", "aspirin 81 MG Oral Tablet", "Low-dose aspirin"), "subject",
        Subject(), "context", Ref("Encounter", kOffice), "effectivePeriod",
        Period(Date(YearsBefore(gen_.base_day, 3))), "dateAsserted", DateTime(office_, 560),
        "informationSource", Subject(), "dosage", dosage("Take 1 tablet by mouth once daily")));
}

void AdultRecord::Immunizations() {
  const Value vaccines[] = {
      // Completed flu shot at the office visit.
      O("resourceType", "Immunization", "id", "demo-immunization-1-influenza", "meta",
        Meta("us-core-immunization"), "status", "completed", "vaccineCode",
        Concept(kCvx, "158", "influenza, injectable, quadrivalent, contains preservative",
                "Influenza vaccine"),
        "patient", Subject(), "encounter", Ref("Encounter", kOffice), "occurrenceDateTime",
        DateTime(office_, 620), "primarySource", true, "location", Ref("Location", kLocationClinic),
        "lotNumber", "FLU2024Q7", "site",
        Concept("http://terminology.hl7.org/CodeSystem/v3-ActSite", "LA", "left arm"), "route",
        Concept("http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", "IM",
                "Injection, intramuscular"),
        "doseQuantity", UcumQuantity(5, 1, "mL", "mL"), "performer",
        A(O("actor", Ref("Practitioner", PractitionerId(1), PractitionerName(1))))),
      O("resourceType", "Immunization", "id", "demo-immunization-1-covid19", "meta",
        Meta("us-core-immunization"), "status", "completed", "vaccineCode",
        Concept(kCvx, "208",
                "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 "
                "mcg/0.3mL dose"),
        "patient", Subject(), "occurrenceDateTime", DateTime(gen_.base_day - 900, 600),
        "primarySource", true, "location", Ref("Location", kLocationClinic)),
      // Declined: status not-done with a statusReason (Must Support).
      O("resourceType", "Immunization", "id", "demo-immunization-1-tdap", "meta",
        Meta("us-core-immunization"), "status", "not-done", "statusReason",
        Concept(kActCode, "PATOBJ", "patient objection"), "vaccineCode",
        Concept(kCvx, "115",
                "tetanus toxoid, reduced diphtheria toxoid, and acellular "
                "pertussis vaccine, adsorbed"),
        "patient", Subject(), "encounter", Ref("Encounter", kOffice), "occurrenceDateTime",
        DateTime(office_, 625), "primarySource", true),
      // Reported by the member without a date: occurrence carries a data-absent-reason.
      O("resourceType", "Immunization", "id", "demo-immunization-1-zoster", "meta",
        Meta("us-core-immunization"), "status", "completed", "vaccineCode",
        Concept(kCvx, "187", "zoster vaccine recombinant"), "patient", Subject(),
        "_occurrenceDateTime",
        O("extension", A(O("url", kDataAbsentReasonExt, "valueCode", "unknown"))), "primarySource",
        false, "reportOrigin",
        Concept("http://terminology.hl7.org/CodeSystem/immunization-origin", "recall",
                "Parent/Guardian/Patient Recall")),
  };
  for (const Value& v : vaccines) {
    Add(v);
  }
}

void AdultRecord::ProceduresAndDevices() {
  const int64_t implant = emergency_ - 700 - rng_.Range(0, 60);
  const int64_t expires = implant + 3650;
  int y = 0;
  int mo = 0;
  int d = 0;
  CivilFromDays(expires, y, mo, d);
  char exp_yymmdd[8];
  std::snprintf(exp_yymmdd, sizeof(exp_yymmdd), "%02d%02d%02d", y % 100, mo, d);
  const std::string di = "00643169007222";
  const std::string hrf =
      "(01)" + di + "(17)" + exp_yymmdd + "(10)LOT4567(21)SN" + std::to_string(m_.index) + "98765";
  Add(O("resourceType", "Device", "id", "demo-device-1-pacemaker", "meta",
        Meta("us-core-implantable-device"), "udiCarrier",
        A(O("deviceIdentifier", di, "issuer", "http://hl7.org/fhir/NamingSystem/gs1-di",
            "jurisdiction", "http://hl7.org/fhir/NamingSystem/fda-udi", "carrierAIDC", Base64(hrf),
            "carrierHRF", hrf, "entryType", "barcode")),
        "distinctIdentifier", "DI-PM-" + std::to_string(m_.index) + "-A", "status", "active",
        "manufacturer", "Demo Cardiac Devices Inc.", "manufactureDate", Date(implant - 200),
        "expirationDate", Date(expires), "lotNumber", "LOT4567", "serialNumber",
        "SN" + std::to_string(m_.index) + "98765", "deviceName",
        A(O("name", "Demo Dual Chamber Pacemaker", "type", "user-friendly-name")), "type",
        Concept(kSnomed, "14106009", "Cardiac pacemaker, device", "Cardiac pacemaker"), "patient",
        Subject()));
  struct Proc {
    const char* slug;
    const char* snomed;
    const char* display;
    const char* cpt;
    const char* encounter;
    int64_t day;
    int practitioner;
    const char* reason;  // Condition id
  };
  const Proc procs[] = {
      {"knee-replacement", "609588000", "Total knee replacement", "27447", kInpatient, admit_ + 1,
       3, "demo-condition-1-osteoarthritis"},
      {"pacemaker", "307280005", "Implantation of cardiac pacemaker", "33208", nullptr, implant, 2,
       nullptr},
      {"colonoscopy", "73761001", "Colonoscopy", "45378", nullptr,
       gen_.base_day - 1250 - rng_.Range(0, 30), 1, nullptr},
  };
  for (const Proc& p : procs) {
    const bool pacemaker = std::string_view(p.slug) == "pacemaker";
    Add(O("resourceType", "Procedure", "id", std::string("demo-procedure-1-") + p.slug, "meta",
          Meta("us-core-procedure"), "status", "completed", "code",
          O("coding",
            A(Coding(kSnomed, p.snomed, p.display),
              Coding("http://www.ama-assn.org/go/cpt", p.cpt, p.display)),
            "text", p.display),
          "subject", Subject(), "encounter",
          p.encounter != nullptr ? Ref("Encounter", p.encounter) : Value(), "performedPeriod",
          Period(DateTime(p.day, 600), DateTime(p.day, 720)), "performer",
          A(O("actor",
              Ref("Practitioner", PractitionerId(p.practitioner), PractitionerName(p.practitioner)),
              "onBehalfOf", Ref("Organization", kOrgHospital))),
          "location", Ref("Location", kLocationHospital), "reasonReference",
          p.reason != nullptr ? A(Ref("Condition", p.reason)) : Value(), "focalDevice",
          pacemaker ? A(O("action", Concept(kSnomed, "129338005", "Surgical implantation"),
                          "manipulated", Ref("Device", "demo-device-1-pacemaker")))
                    : Value()));
  }
}

void AdultRecord::CarePlanning() {
  Add(O(
      "resourceType", "CareTeam", "id", "demo-careteam-1", "meta", Meta("us-core-careteam"),
      "status", "active", "name", "Robert Carter's primary care team", "subject", Subject(),
      "period", Period(Date(YearsBefore(gen_.base_day, 5))), "participant",
      A(O("role", A(Concept("http://nucc.org/provider-taxonomy", "207Q00000X", "Family Medicine")),
          "member", Ref("Practitioner", PractitionerId(1), PractitionerName(1)), "onBehalfOf",
          Ref("Organization", kOrgClinic)),
        O("role",
          A(Concept("http://nucc.org/provider-taxonomy", "207RC0000X", "Cardiovascular Disease")),
          "member", Ref("Practitioner", PractitionerId(2), PractitionerName(2)), "onBehalfOf",
          Ref("Organization", kOrgHospital)),
        O("role", A(Concept(kSnomed, "116154003", "Patient")), "member", Subject())),
      "managingOrganization", A(Ref("Organization", kOrgClinic))));
  Add(O("resourceType", "Goal", "id", "demo-goal-1-hba1c", "meta", Meta("us-core-goal"),
        "lifecycleStatus", "active", "achievementStatus",
        Concept("http://terminology.hl7.org/CodeSystem/goal-achievement", "improving", "Improving"),
        "description", O("text", "Bring HbA1c below 7.0% and lose 5 kg"), "subject", Subject(),
        "startDate", Date(office_ - 190), "target",
        A(O("measure", Concept(kLoinc, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
            "detailQuantity", UcumQuantity(70, 1, "%", "%"), "dueDate", Date(office_ + 150))),
        "expressedBy", Ref("Practitioner", PractitionerId(1)), "addresses",
        A(Ref("Condition", "demo-condition-1-diabetes"))));
  const char* div =
      "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hypertension and type 2 diabetes plan: "
      "home blood pressure log, metformin and lisinopril, HbA1c every 6 months, walking 30 "
      "minutes daily.</p></div>";
  Add(O(
      "resourceType", "CarePlan", "id", "demo-careplan-1", "meta", Meta("us-core-careplan"), "text",
      O("status", "additional", "div", div), "status", "active", "intent", "plan", "category",
      A(Concept("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan",
                "Assessment and Plan of Treatment")),
      "title", "Cardiometabolic care plan", "subject", Subject(), "encounter",
      Ref("Encounter", kOffice), "period", Period(Date(office_)), "created", DateTime(office_, 640),
      "author", Ref("Practitioner", PractitionerId(1), PractitionerName(1)), "careTeam",
      A(Ref("CareTeam", "demo-careteam-1")), "addresses",
      A(Ref("Condition", "demo-condition-1-hypertension"),
        Ref("Condition", "demo-condition-1-diabetes")),
      "goal", A(Ref("Goal", "demo-goal-1-hba1c")), "activity",
      A(O("detail", O("kind", "ServiceRequest", "code",
                      Concept(kLoinc, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
                      "status", "scheduled", "description", "HbA1c every 6 months")))));
}

void AdultRecord::Provenance() {
  Value targets = Value::MakeArray();
  targets.Push(Ref("Patient", m_.id));
  for (Value& t : targets_) {
    targets.Push(std::move(t));
  }
  targets_.clear();
  gen_.Emit(
      O("resourceType", "Provenance", "id", "demo-provenance-1-clinical", "meta",
        Meta("us-core-provenance"), "target", std::move(targets), "recorded",
        DateTime(gen_.base_day - 7, 720), "agent",
        A(O("type",
            Concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author",
                    "Author"),
            "who", Ref("Organization", kOrgHospital, OrganizationName(kOrgHospital))),
          O("type",
            Concept("http://hl7.org/fhir/us/core/CodeSystem/us-core-provenance-participant-type",
                    "transmitter", "Transmitter"),
            "who", Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId))))));
}

}  // namespace

void EmitAdultClinical(const Gen& gen, const Member& m, Rng& rng) {
  AdultRecord record(gen, m, rng);
  record.Emit();
}

}  // namespace portico::app::demo
