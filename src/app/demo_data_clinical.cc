// Demo data: US Core 3.1.1 observation and condition builders, and the child's clinical record.
#include <array>
#include <string>

#include "src/app/demo_data.h"
#include "src/app/demo_data_internal.h"

namespace portico::app::demo {
namespace {

constexpr char kObsCategory[] = "http://terminology.hl7.org/CodeSystem/observation-category";
constexpr char kBase[] = "http://hl7.org/fhir/StructureDefinition/";

struct VitalDef {
  const char* kind;
  const char* profile;  // relative to kBase unless it starts with "us-core:"
  const char* loinc;
  const char* display;
  const char* unit;
  const char* ucum;
};

constexpr std::array<VitalDef, 12> kVitals = {{
    {"heart-rate", "heartrate", "8867-4", "Heart rate", "beats/minute", "/min"},
    {"resp-rate", "resprate", "9279-1", "Respiratory rate", "breaths/minute", "/min"},
    {"temp", "bodytemp", "8310-5", "Body temperature", "C", "Cel"},
    {"height", "bodyheight", "8302-2", "Body height", "cm", "cm"},
    {"weight", "bodyweight", "29463-7", "Body weight", "kg", "kg"},
    {"bmi", "bmi", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2"},
    {"head-circ", "headcircum", "9843-4", "Head Occipital-frontal circumference", "cm", "cm"},
    {"pulse-ox", "us-core:us-core-pulse-oximetry", "59408-5",
     "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"},
    {"bp", "bp", "85354-9", "Blood pressure panel with all children optional", "mmHg", "mm[Hg]"},
    {"ped-bmi", "us-core:pediatric-bmi-for-age", "59576-9",
     "Body mass index (BMI) [Percentile] Per age and sex", "%", "%"},
    {"ped-wfl", "us-core:pediatric-weight-for-height", "77606-2",
     "Weight-for-length Per age and sex", "%", "%"},
    {"ofc-pct", "us-core:head-occipital-frontal-circumference-percentile", "8289-1",
     "Head Occipital-frontal circumference Percentile", "%", "%"},
}};

std::string ProfileUrl(std::string_view profile) {
  constexpr std::string_view kUsCorePrefix = "us-core:";
  if (profile.substr(0, kUsCorePrefix.size()) == kUsCorePrefix) {
    return std::string(kUsCore) + std::string(profile.substr(kUsCorePrefix.size()));
  }
  return std::string(kBase) + std::string(profile);
}

Value MmHg(int64_t v) { return UcumQuantity(v, 0, "mmHg", "mm[Hg]"); }

struct LabDef {
  const char* slug;
  const char* loinc;
  const char* display;
  const char* ucum;  // nullptr: coded result
  int scale;         // decimals of value/low/high
  int64_t low;       // reference range, scaled; -1 when open
  int64_t high;
  int64_t min;  // generated value range, scaled
  int64_t max;
};

constexpr std::array<LabDef, 8> kLabs = {{
    {"hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 1, 40, 56, 52, 88},
    {"glucose", "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 0, 70, 99, 72, 180},
    {"creatinine", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 2, 70, 130, 60,
     160},
    {"potassium", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 1, 35, 51, 34,
     53},
    {"sodium", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 0, 136, 145, 133,
     147},
    {"ldl", "13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
     "mg/dL", 0, -1, 99, 70, 190},
    {"hemoglobin", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 1, 120, 175, 110, 172},
    {"urine-color", "5778-6", "Color of Urine", nullptr, 0, 0, 0, 0, 0},
}};

struct ProblemDef {
  const char* slug;
  const char* snomed;
  const char* snomed_display;
  const char* icd10;
  const char* icd10_display;
};

constexpr std::array<ProblemDef, 8> kProblems = {{
    {"hypertension", "38341003", "Hypertensive disorder, systemic arterial", "I10",
     "Essential (primary) hypertension"},
    {"diabetes", "44054006", "Diabetes mellitus type 2", "E11.9",
     "Type 2 diabetes mellitus without complications"},
    {"hyperlipidemia", "55822004", "Hyperlipidemia", "E78.5", "Hyperlipidemia, unspecified"},
    {"asthma", "195967001", "Asthma", "J45.909", "Unspecified asthma, uncomplicated"},
    {"osteoarthritis", "239873007", "Osteoarthritis of knee", "M17.9",
     "Osteoarthritis of knee, unspecified"},
    {"gerd", "235595009", "Gastroesophageal reflux disease", "K21.9",
     "Gastro-esophageal reflux disease without esophagitis"},
    {"hypothyroidism", "40930008", "Hypothyroidism", "E03.9", "Hypothyroidism, unspecified"},
    {"depression", "35489007", "Depressive disorder", "F32.A", "Depression, unspecified"},
}};

}  // namespace

Value VitalSign(const Gen& gen, const Member& m, const std::string& id, std::string_view kind,
                int64_t value, const std::string& when, const std::string& encounter_id) {
  const VitalDef* def = &kVitals[0];
  for (const VitalDef& d : kVitals) {
    if (kind == d.kind) {
      def = &d;
    }
  }
  const std::string profile = ProfileUrl(def->profile);
  Value code = Concept(kLoinc, def->loinc, def->display, def->display);
  Value meta;
  Value quantity;
  Value components;
  if (kind == "pulse-ox") {
    // US Core 3.1.1 pulse oximetry: 59408-5 plus the 2708-6 code of the base oxygensat profile.
    code = O("coding",
             A(Coding(kLoinc, "2708-6", "Oxygen saturation in Arterial blood"),
               Coding(kLoinc, "59408-5", def->display)),
             "text", "Oxygen saturation");
    meta = gen.Meta({profile, std::string(kBase) + "oxygensat"});
    quantity = UcumQuantity(value, 1, def->unit, def->ucum);
    components = A(O("code", Concept(kLoinc, "3151-8", "Inhaled oxygen flow rate"), "valueQuantity",
                     UcumQuantity(0, 0, "L/min", "L/min")),
                   O("code", Concept(kLoinc, "3150-0", "Inhaled oxygen concentration"),
                     "valueQuantity", UcumQuantity(21, 0, "%", "%")));
  } else if (kind == "bp") {
    meta = gen.Meta({profile});
    const int64_t systolic = value / 1000;
    const int64_t diastolic = value % 1000;
    Value dia = O("code", Concept(kLoinc, "8462-4", "Diastolic blood pressure"));
    if (diastolic > 0) {
      dia.Set("valueQuantity", MmHg(diastolic));
    } else {
      // The reading was not captured: US Core asks for a data-absent-reason.
      dia.Set("dataAbsentReason",
              Concept(kDataAbsentReasonSystem, "unknown", "Unknown", "Unknown"));
    }
    components = A(O("code", Concept(kLoinc, "8480-6", "Systolic blood pressure"), "valueQuantity",
                     MmHg(systolic)),
                   std::move(dia));
  } else {
    meta = gen.Meta({profile});
    quantity = UcumQuantity(value, 1, def->unit, def->ucum);
  }
  return O("resourceType", "Observation", "id", id, "meta", std::move(meta), "status", "final",
           "category", A(Concept(kObsCategory, "vital-signs", "Vital Signs", "Vital Signs")),
           "code", std::move(code), "subject", Ref("Patient", m.id, m.name), "encounter",
           encounter_id.empty() ? Value() : Ref("Encounter", encounter_id), "effectiveDateTime",
           when, "issued", when, "performer",
           A(Ref("Practitioner", PractitionerId(m.index == 2 ? 4 : 1))), "valueQuantity",
           std::move(quantity), "component", std::move(components));
}

int LabTestCount() { return static_cast<int>(kLabs.size()); }

Value LabObservation(const Gen& gen, const Member& m, const std::string& id, int test, Rng& rng,
                     const std::string& when, const std::string& encounter_id) {
  const LabDef& def = kLabs[static_cast<size_t>(test) % kLabs.size()];
  Value result =
      O("resourceType", "Observation", "id", id, "meta",
        gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/"
                  "us-core-observation-lab"}),
        "status", "final", "category",
        A(Concept(kObsCategory, "laboratory", "Laboratory", "Laboratory")), "code",
        Concept(kLoinc, def.loinc, def.display, def.display), "subject",
        Ref("Patient", m.id, m.name), "encounter",
        encounter_id.empty() ? Value() : Ref("Encounter", encounter_id), "effectiveDateTime", when,
        "issued", when, "performer", A(Ref("Organization", kOrgLab, OrganizationName(kOrgLab))));
  if (def.ucum == nullptr) {
    result.Set("valueCodeableConcept", Concept(kSnomed, "371244009", "Yellow color", "Yellow"));
    return result;
  }
  const int64_t value = rng.Range(def.min, def.max);
  result.Set("valueQuantity", UcumQuantity(value, def.scale, def.ucum, def.ucum));
  const char* flag = "N";
  const char* flag_display = "Normal";
  if (def.low >= 0 && value < def.low) {
    flag = "L";
    flag_display = "Low";
  } else if (value > def.high) {
    flag = "H";
    flag_display = "High";
  }
  result.Set("interpretation",
             A(Concept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", flag,
                       flag_display)));
  result.Set(
      "referenceRange",
      A(O("low", def.low >= 0 ? UcumQuantity(def.low, def.scale, def.ucum, def.ucum) : Value(),
          "high", UcumQuantity(def.high, def.scale, def.ucum, def.ucum))));
  return result;
}

int ProblemCount() { return static_cast<int>(kProblems.size()); }

Value ProblemCondition(const Gen& gen, const Member& m, const std::string& id, int problem,
                       int64_t onset_day) {
  const ProblemDef& def = kProblems[static_cast<size_t>(problem) % kProblems.size()];
  return O("resourceType", "Condition", "id", id, "meta",
           gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition"}),
           "clinicalStatus",
           Concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
           "verificationStatus",
           Concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed",
                   "Confirmed"),
           "category",
           A(Concept("http://terminology.hl7.org/CodeSystem/condition-category",
                     "problem-list-item", "Problem List Item")),
           "code",
           O("coding",
             A(Coding(kSnomed, def.snomed, def.snomed_display),
               Coding(kIcd10Cm, def.icd10, def.icd10_display)),
             "text", def.snomed_display),
           "subject", Ref("Patient", m.id, m.name), "onsetDateTime", Date(onset_day),
           "recordedDate", Date(onset_day + 3), "recorder", Ref("Practitioner", PractitionerId(1)));
}

// ---- The child (demo-member-2)
// --------------------------------------------------------------------

void EmitChildClinical(const Gen& gen, const Member& child, const Member& parent, Rng& rng) {
  std::vector<Value> targets;
  auto emit = [&](const Value& v) {
    gen.Emit(v);
    targets.push_back(Ref(v.GetString("resourceType"), v.GetString("id")));
  };
  (void)parent;
  const int64_t recent = gen.base_day - 40 - rng.Range(0, 20);
  const int64_t toddler = YearsBefore(gen.base_day, 5) + rng.Range(0, 60);
  const std::string recent_at = DateTime(recent, 600);
  const std::string toddler_at = DateTime(toddler, 630);
  const char* kWell = "demo-encounter-2-wellchild";
  const char* kToddler = "demo-encounter-2-toddler";
  for (int i = 0; i < 2; ++i) {
    const bool latest = i == 0;
    const int64_t day = latest ? recent : toddler;
    emit(O("resourceType", "Encounter", "id", latest ? kWell : kToddler, "meta",
           gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"}),
           "identifier",
           A(O("system", "https://portico.example/fhir/encounter-id", "value",
               latest ? "ENC-2-1" : "ENC-2-2")),
           "status", "finished", "class",
           Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"), "type",
           A(Concept(kSnomed, "410620009", "Well child visit", "Well child visit")), "subject",
           Ref("Patient", child.id, child.name), "participant",
           A(O("type",
               A(Concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF",
                         "primary performer")),
               "period", Period(DateTime(day, 540), DateTime(day, 600)), "individual",
               Ref("Practitioner", PractitionerId(4), PractitionerName(4)))),
           "period", Period(DateTime(day, 540), DateTime(day, 600)), "reasonCode",
           A(Concept(kSnomed, "410620009", "Well child visit")), "location",
           A(O("location", Ref("Location", kLocationClinic))), "serviceProvider",
           Ref("Organization", kOrgClinic, OrganizationName(kOrgClinic))));
  }
  // Recent well-child vitals, then the toddler measurements (weight-for-length, head).
  emit(VitalSign(gen, child, "demo-obs-2-height", "height", 1160 + rng.Range(0, 40), recent_at,
                 kWell));
  emit(VitalSign(gen, child, "demo-obs-2-weight", "weight", 208 + rng.Range(0, 20), recent_at,
                 kWell));
  emit(VitalSign(gen, child, "demo-obs-2-bmi", "bmi", 155 + rng.Range(0, 10), recent_at, kWell));
  emit(VitalSign(gen, child, "demo-obs-2-ped-bmi", "ped-bmi", 450 + rng.Range(0, 200), recent_at,
                 kWell));
  emit(VitalSign(gen, child, "demo-obs-2-heart-rate", "heart-rate", 900 + rng.Range(0, 100),
                 recent_at, kWell));
  emit(VitalSign(gen, child, "demo-obs-2-temp", "temp", 366 + rng.Range(0, 5), recent_at, kWell));
  emit(VitalSign(gen, child, "demo-obs-2-height-toddler", "height", 820 + rng.Range(0, 30),
                 toddler_at, kToddler));
  emit(VitalSign(gen, child, "demo-obs-2-weight-toddler", "weight", 110 + rng.Range(0, 10),
                 toddler_at, kToddler));
  emit(VitalSign(gen, child, "demo-obs-2-ped-wfl", "ped-wfl", 400 + rng.Range(0, 200), toddler_at,
                 kToddler));
  emit(VitalSign(gen, child, "demo-obs-2-head-circ", "head-circ", 465 + rng.Range(0, 15),
                 toddler_at, kToddler));
  emit(VitalSign(gen, child, "demo-obs-2-ofc-pct", "ofc-pct", 450 + rng.Range(0, 200), toddler_at,
                 kToddler));

  const int64_t otitis = gen.base_day - 200 - rng.Range(0, 60);
  emit(
      O("resourceType", "Condition", "id", "demo-condition-2-otitis", "meta",
        gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition"}),
        "clinicalStatus",
        Concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved"),
        "verificationStatus",
        Concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed",
                "Confirmed"),
        "category",
        A(Concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis",
                  "Encounter Diagnosis")),
        "code",
        O("coding",
          A(Coding(kSnomed, "65363002", "Otitis media"),
            Coding(kIcd10Cm, "H66.91", "Otitis media, unspecified, right ear")),
          "text", "Ear infection"),
        "subject", Ref("Patient", child.id, child.name), "onsetDateTime", Date(otitis),
        "abatementDateTime", Date(otitis + 10), "recordedDate", Date(otitis), "recorder",
        Ref("Practitioner", PractitionerId(4))));

  struct Vaccine {
    const char* slug;
    const char* cvx;
    const char* display;
    int months;
  };
  const Vaccine vaccines[] = {
      {"mmr", "03", "measles, mumps and rubella virus vaccine", 13},
      {"dtap", "20", "diphtheria, tetanus toxoids and acellular pertussis vaccine", 16},
  };
  for (const Vaccine& v : vaccines) {
    const int64_t day = YearsBefore(gen.base_day, 6) + v.months * 30 + rng.Range(0, 20);
    emit(O("resourceType", "Immunization", "id", std::string("demo-immunization-2-") + v.slug,
           "meta",
           gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-immunization"}),
           "status", "completed", "vaccineCode",
           Concept("http://hl7.org/fhir/sid/cvx", v.cvx, v.display, v.display), "patient",
           Ref("Patient", child.id, child.name), "occurrenceDateTime", DateTime(day, 600),
           "primarySource", true, "location", Ref("Location", kLocationClinic), "lotNumber",
           std::string("LOT") + v.cvx + "A7", "performer",
           A(O("actor", Ref("Practitioner", PractitionerId(4), PractitionerName(4))))));
  }

  Value target_list = Value::MakeArray();
  target_list.Push(Ref("Patient", child.id));
  for (Value& t : targets) {
    target_list.Push(std::move(t));
  }
  gen.Emit(
      O("resourceType", "Provenance", "id", "demo-provenance-2-clinical", "meta",
        gen.Meta({"http://hl7.org/fhir/us/core/StructureDefinition/us-core-provenance"}), "target",
        std::move(target_list), "recorded", DateTime(gen.base_day - 30, 720), "agent",
        A(O("type",
            Concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author",
                    "Author"),
            "who", Ref("Organization", kOrgClinic, OrganizationName(kOrgClinic))),
          O("type",
            Concept("http://hl7.org/fhir/us/core/CodeSystem/us-core-provenance-participant-type",
                    "transmitter", "Transmitter"),
            "who", Ref("Organization", kDemoPayerId, OrganizationName(kDemoPayerId))))));
}

}  // namespace portico::app::demo
