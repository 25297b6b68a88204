#include "src/auth/scopes.h"

#include <algorithm>
#include <array>
#include <optional>

#include "src/base/strings.h"

namespace portico::auth {
namespace {

constexpr size_t kMaxTypeLength = 64;

constexpr std::array<std::string_view, 8> kKnownOthers = {
    "openid",         "fhirUser",         "profile",        "launch",
    "launch/patient", "launch/encounter", "offline_access", "online_access"};

// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
bool IsScopeTokenChar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c >= 0x21 && c <= 0x7E && c != 0x22 && c != 0x5C;
}

bool IsValidType(std::string_view type) {
  if (type == "*") {
    return true;
  }
  if (type.empty() || type.size() > kMaxTypeLength || type[0] < 'A' || type[0] > 'Z') {
    return false;
  }
  return std::all_of(type.begin(), type.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

bool ParseContext(std::string_view s, Context& out) {
  if (s == "patient") {
    out = Context::kPatient;
  } else if (s == "user") {
    out = Context::kUser;
  } else if (s == "system") {
    out = Context::kSystem;
  } else {
    return false;
  }
  return true;
}

std::string_view ContextName(Context c) {
  switch (c) {
    case Context::kPatient:
      return "patient";
    case Context::kUser:
      return "user";
    case Context::kSystem:
      return "system";
  }
  return "patient";
}

bool ParsePermissions(std::string_view p, ResourceScope& out) {
  if (p == "read") {
    out.r = out.s = true;
    return true;
  }
  if (p == "write") {
    out.c = out.u = out.d = true;
    return true;
  }
  if (p == "*") {
    out.c = out.r = out.u = out.d = out.s = true;
    return true;
  }
  // v2: an ordered subsequence of "cruds", each letter at most once.
  if (p.empty()) {
    return false;
  }
  constexpr std::string_view kOrder = "cruds";
  size_t next = 0;  // Index in kOrder the next letter may start from.
  for (char ch : p) {
    size_t pos = kOrder.find(ch, next);
    if (pos == std::string_view::npos) {
      return false;  // Unknown, repeated or out-of-order letter.
    }
    next = pos + 1;
    switch (ch) {
      case 'c':
        out.c = true;
        break;
      case 'r':
        out.r = true;
        break;
      case 'u':
        out.u = true;
        break;
      case 'd':
        out.d = true;
        break;
      case 's':
        out.s = true;
        break;
      default:
        return false;
    }
  }
  out.v2 = true;
  return true;
}

bool ParseConstraints(std::string_view query, ScopeConstraints& out) {
  if (query.empty()) {
    return false;
  }
  for (std::string_view part : base::Split(query, '&')) {
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return false;
    }
    std::optional<std::string> name = base::PercentDecode(part.substr(0, eq), false);
    std::optional<std::string> value = base::PercentDecode(part.substr(eq + 1), false);
    if (!name.has_value() || !value.has_value() || name->empty() || value->empty()) {
      return false;
    }
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return true;
}

void AppendEncoded(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool escape = c <= 0x20 || c >= 0x7F || ch == '%' || ch == '&' || ch == '=' || ch == '?' ||
                  ch == '#' || ch == '+' || ch == '"' || ch == '\\';
    if (escape) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
}

bool TypeMatches(const ResourceScope& scope, std::string_view type) {
  return scope.type == "*" || scope.type == type;
}

// True if every constraint in `subset` is also in `of` (a scope with `of` is no broader).
bool ConstraintsSubset(const ScopeConstraints& subset, const ScopeConstraints& of) {
  return std::all_of(subset.begin(), subset.end(), [&](const auto& pair) {
    return std::find(of.begin(), of.end(), pair) != of.end();
  });
}

bool Covered(const ResourceScope& req, const ScopeSet& granted) {
  ResourceScope acc;  // Union of permissions of the covering granted scopes.
  for (const ResourceScope& g : granted.resources) {
    if (g.context != req.context || !(g.type == "*" || g.type == req.type) ||
        !ConstraintsSubset(g.constraints, req.constraints)) {
      continue;
    }
    acc.c = acc.c || g.c;
    acc.r = acc.r || g.r;
    acc.u = acc.u || g.u;
    acc.d = acc.d || g.d;
    acc.s = acc.s || g.s;
  }
  return (!req.c || acc.c) && (!req.r || acc.r) && (!req.u || acc.u) && (!req.d || acc.d) &&
         (!req.s || acc.s);
}

// ---- Plain-language descriptions -------------------------------------------------------------

struct NameEntry {
  std::string_view type;
  std::string_view name;
};

constexpr std::array<NameEntry, 39> kFriendlyNames = {{
    {"AllergyIntolerance", "allergies and intolerances"},
    {"Appointment", "appointments"},
    {"Binary", "document and attachment contents"},
    {"CarePlan", "care plans"},
    {"CareTeam", "care team members"},
    {"Claim", "claims"},
    {"ClaimResponse", "claim responses"},
    {"Condition", "conditions and health problems"},
    {"Consent", "consent and privacy choices"},
    {"Coverage", "insurance coverage"},
    {"Device", "implants and medical devices"},
    {"DiagnosticReport", "diagnostic reports such as lab and imaging reports"},
    {"DocumentReference", "clinical documents and notes"},
    {"Encounter", "visits and encounters"},
    {"ExplanationOfBenefit", "claims and explanations of benefit"},
    {"FamilyMemberHistory", "family health history"},
    {"Goal", "health goals"},
    {"Group", "patient groups"},
    {"Immunization", "immunizations"},
    {"InsurancePlan", "insurance plan details"},
    {"Location", "care locations"},
    {"Media", "photos and other media"},
    {"Medication", "medication details"},
    {"MedicationAdministration", "administered medications"},
    {"MedicationDispense", "dispensed medications"},
    {"MedicationRequest", "prescriptions and medication orders"},
    {"MedicationStatement", "medication history"},
    {"Observation", "observations such as lab results and vital signs"},
    {"Organization", "healthcare and insurance organizations"},
    {"Patient", "demographic information (such as name, birth date and contact details)"},
    {"Practitioner", "information about care providers"},
    {"PractitionerRole", "care providers' roles and contact details"},
    {"Procedure", "procedures and surgeries"},
    {"Provenance", "records of where health data came from (provenance)"},
    {"Questionnaire", "questionnaires and forms"},
    {"QuestionnaireResponse", "questionnaire and form answers"},
    {"RelatedPerson", "related people such as caregivers"},
    {"ServiceRequest", "orders and referrals"},
    {"Specimen", "specimens"},
}};

struct CategoryEntry {
  std::string_view type;
  std::string_view code;
  std::string_view name;
};

constexpr std::array<CategoryEntry, 17> kCategoryNames = {{
    {"Observation", "laboratory", "lab results"},
    {"Observation", "vital-signs", "vital signs"},
    {"Observation", "social-history", "social history"},
    {"Observation", "imaging", "imaging results"},
    {"Observation", "survey", "survey and assessment answers"},
    {"Observation", "exam", "exam findings"},
    {"Observation", "procedure", "procedure results"},
    {"Observation", "therapy", "therapy observations"},
    {"Observation", "activity", "activity observations"},
    {"Observation", "sdoh", "social needs (SDOH) observations"},
    {"Condition", "problem-list-item", "problem list"},
    {"Condition", "encounter-diagnosis", "encounter diagnoses"},
    {"Condition", "health-concern", "health concerns"},
    {"DocumentReference", "clinical-note", "clinical notes"},
    {"DiagnosticReport", "LAB", "lab reports"},
    {"DiagnosticReport", "RAD", "imaging reports"},
    {"DiagnosticReport", "LP29684-5", "imaging reports"},
}};

// "http://system|code" -> "code"; other values unchanged.
std::string_view CodePart(std::string_view value) {
  size_t bar = value.rfind('|');
  return bar == std::string_view::npos ? value : value.substr(bar + 1);
}

std::string JoinWithAnd(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += i + 1 == items.size() ? " and " : ", ";
    }
    out += items[i];
  }
  return out;
}

std::string Verbs(const ResourceScope& scope) {
  std::vector<std::string> verbs;
  if (scope.c) {
    verbs.emplace_back("create");
  }
  if (scope.r) {
    verbs.emplace_back("read");
  }
  if (scope.u) {
    verbs.emplace_back("update");
  }
  if (scope.d) {
    verbs.emplace_back("delete");
  }
  if (scope.s) {
    verbs.emplace_back("search");
  }
  std::string out = verbs.empty() ? std::string("access") : JoinWithAnd(verbs);
  out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

}  // namespace

bool ResourceScope::Permits(Interaction interaction) const {
  switch (interaction) {
    case Interaction::kRead:
      return r;
    case Interaction::kSearch:
      return s;
    case Interaction::kCreate:
      return c;
    case Interaction::kUpdate:
      return u;
    case Interaction::kDelete:
      return d;
  }
  return false;
}

bool ParseResourceScope(std::string_view scope, ResourceScope& out) {
  out = ResourceScope();
  if (scope.empty() || !std::all_of(scope.begin(), scope.end(), IsScopeTokenChar)) {
    return false;
  }
  size_t slash = scope.find('/');
  if (slash == std::string_view::npos || !ParseContext(scope.substr(0, slash), out.context)) {
    return false;
  }
  std::string_view rest = scope.substr(slash + 1);
  std::string_view query;
  bool has_query = false;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    has_query = true;
  }
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    return false;
  }
  std::string_view type = rest.substr(0, dot);
  if (!IsValidType(type) || !ParsePermissions(rest.substr(dot + 1), out)) {
    return false;
  }
  out.type = std::string(type);
  if (has_query && (!out.v2 || !ParseConstraints(query, out.constraints))) {
    return false;
  }
  return true;
}

std::string ToString(const ResourceScope& scope) {
  std::string out(ContextName(scope.context));
  out.push_back('/');
  out += scope.type;
  out.push_back('.');
  bool v1_form = !scope.v2 && scope.constraints.empty();
  if (v1_form && scope.r && scope.s && !scope.c && !scope.u && !scope.d) {
    out += "read";
  } else if (v1_form && scope.c && scope.u && scope.d && !scope.r && !scope.s) {
    out += "write";
  } else if (v1_form && scope.c && scope.r && scope.u && scope.d && scope.s) {
    out += "*";
  } else {
    if (scope.c) {
      out.push_back('c');
    }
    if (scope.r) {
      out.push_back('r');
    }
    if (scope.u) {
      out.push_back('u');
    }
    if (scope.d) {
      out.push_back('d');
    }
    if (scope.s) {
      out.push_back('s');
    }
  }
  for (size_t i = 0; i < scope.constraints.size(); ++i) {
    out.push_back(i == 0 ? '?' : '&');
    AppendEncoded(scope.constraints[i].first, out);
    out.push_back('=');
    AppendEncoded(scope.constraints[i].second, out);
  }
  return out;
}

bool IsKnownNonResourceScope(std::string_view scope) {
  return std::find(kKnownOthers.begin(), kKnownOthers.end(), scope) != kKnownOthers.end();
}

std::string ScopeSet::ToString() const {
  std::vector<std::string> parts;
  parts.reserve(resources.size() + others.size());
  for (const ResourceScope& r : resources) {
    parts.push_back(auth::ToString(r));
  }
  parts.insert(parts.end(), others.begin(), others.end());
  return base::Join(parts, " ");
}

ScopeSet ParseScopeString(std::string_view scopes) {
  ScopeSet set;
  for (std::string_view token : base::Split(scopes, ' ')) {
    if (token.empty()) {
      continue;
    }
    if (IsKnownNonResourceScope(token)) {
      set.others.emplace(token);
      continue;
    }
    ResourceScope scope;
    if (ParseResourceScope(token, scope)) {
      if (std::find(set.resources.begin(), set.resources.end(), scope) == set.resources.end()) {
        set.resources.push_back(std::move(scope));
      }
      continue;
    }
    if (std::find(set.invalid.begin(), set.invalid.end(), token) == set.invalid.end()) {
      set.invalid.emplace_back(token);
    }
  }
  return set;
}

bool Allows(const ScopeSet& set, Context context, std::string_view type, Interaction interaction) {
  return std::any_of(set.resources.begin(), set.resources.end(), [&](const ResourceScope& s) {
    return s.context == context && TypeMatches(s, type) && s.Permits(interaction);
  });
}

AccessConstraints ConstraintsFor(const ScopeSet& set, Context context, std::string_view type,
                                 Interaction interaction) {
  AccessConstraints out;
  for (const ResourceScope& s : set.resources) {
    if (s.context != context || !TypeMatches(s, type) || !s.Permits(interaction)) {
      continue;
    }
    out.allowed = true;
    if (s.constraints.empty()) {
      out.unconstrained = true;
    } else if (std::find(out.any_of.begin(), out.any_of.end(), s.constraints) == out.any_of.end()) {
      out.any_of.push_back(s.constraints);
    }
  }
  if (out.unconstrained) {
    out.any_of.clear();
  }
  return out;
}

ScopeSet Narrow(const ScopeSet& requested, const ScopeSet& granted) {
  ScopeSet out;
  for (const ResourceScope& r : requested.resources) {
    if (Covered(r, granted)) {
      out.resources.push_back(r);
    } else {
      out.invalid.push_back(ToString(r));
    }
  }
  for (const std::string& o : requested.others) {
    if (granted.others.count(o) > 0) {
      out.others.insert(o);
    } else {
      out.invalid.push_back(o);
    }
  }
  out.invalid.insert(out.invalid.end(), requested.invalid.begin(), requested.invalid.end());
  return out;
}

std::string FriendlyResourceName(std::string_view type) {
  for (const NameEntry& e : kFriendlyNames) {
    if (e.type == type) {
      return std::string(e.name);
    }
  }
  return std::string(type) + " records";
}

std::string Describe(const ResourceScope& scope) {
  bool wildcard = scope.type == "*";
  std::string noun;
  bool friendly_category = false;
  if (wildcard) {
    noun = "all current and future types of";
  } else if (scope.constraints.size() == 1 && scope.constraints[0].first == "category") {
    std::string_view code = CodePart(scope.constraints[0].second);
    for (const CategoryEntry& e : kCategoryNames) {
      if (e.type == scope.type && e.code == code) {
        noun = std::string(e.name);
        friendly_category = true;
        break;
      }
    }
  }
  if (noun.empty()) {
    noun = FriendlyResourceName(scope.type);
  }

  std::string out = Verbs(scope);
  out.push_back(' ');
  switch (scope.context) {
    case Context::kPatient:
      out += wildcard ? noun + " your health data" : "your " + noun;
      break;
    case Context::kUser:
      out += wildcard ? noun + " health data you are allowed to access"
                      : noun + " you are allowed to access";
      break;
    case Context::kSystem:
      out += wildcard ? noun + " health data for any patient, without a signed-in user"
                      : noun + " for any patient, without a signed-in user";
      break;
  }

  std::vector<std::string> details;
  for (const auto& [name, value] : scope.constraints) {
    details.push_back(name + " " + std::string(CodePart(value)));
  }
  std::string parenthetical = wildcard ? "all resource types" : scope.type;
  if (!details.empty()) {
    parenthetical += friendly_category ? ", " : ", limited to ";
    parenthetical += base::Join(details, ", ");
  }
  out += " (" + parenthetical + ")";
  return out;
}

std::string DescribeOther(std::string_view scope) {
  if (scope == "openid") {
    return "Confirm your identity when you sign in";
  }
  if (scope == "fhirUser") {
    return "Know which person (patient, practitioner or related person) is signed in";
  }
  if (scope == "profile") {
    return "Read your basic profile information";
  }
  if (scope == "launch") {
    return "Receive the context of the current launch from your health record system";
  }
  if (scope == "launch/patient") {
    return "Know which patient's record you selected";
  }
  if (scope == "launch/encounter") {
    return "Know which visit or encounter you selected";
  }
  if (scope == "offline_access") {
    return "Keep access to this data when you are not using the app, until you revoke it";
  }
  if (scope == "online_access") {
    return "Keep access to this data while you are signed in";
  }
  return "";
}

}  // namespace portico::auth
