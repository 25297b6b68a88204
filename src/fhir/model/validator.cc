#include "src/fhir/model/validator.h"

#include <array>
#include <utility>

#include "src/fhir/search/builtin_data.h"

namespace portico::fhir {

namespace {

using TypeInfo = ElementModel::TypeInfo;
using ElementInfo = ElementModel::ElementInfo;
using TypeKind = ElementModel::TypeKind;

// Upper bound on the elements of one type (own + inherited), so the validator can keep its
// per-object bookkeeping on the stack. R4 needs 55 at most.
constexpr size_t kMaxElements = 255;
// R4 datatypes: "strings SHALL NOT exceed 1MB in size".
constexpr size_t kMaxStringBytes = size_t{1024} * 1024;

struct PrimitiveName {
  std::string_view name;
  PrimitiveKind kind;
};

constexpr PrimitiveName kPrimitives[] = {
    {"boolean", PrimitiveKind::kBoolean},
    {"integer", PrimitiveKind::kInteger},
    {"positiveInt", PrimitiveKind::kPositiveInt},
    {"unsignedInt", PrimitiveKind::kUnsignedInt},
    {"decimal", PrimitiveKind::kDecimal},
    {"string", PrimitiveKind::kString},
    {"markdown", PrimitiveKind::kMarkdown},
    {"code", PrimitiveKind::kCode},
    {"id", PrimitiveKind::kId},
    {"uri", PrimitiveKind::kUri},
    {"url", PrimitiveKind::kUrl},
    {"canonical", PrimitiveKind::kCanonical},
    {"oid", PrimitiveKind::kOid},
    {"uuid", PrimitiveKind::kUuid},
    {"date", PrimitiveKind::kDate},
    {"dateTime", PrimitiveKind::kDateTime},
    {"instant", PrimitiveKind::kInstant},
    {"time", PrimitiveKind::kTime},
    {"base64Binary", PrimitiveKind::kBase64Binary},
    {"xhtml", PrimitiveKind::kXhtml},
};

bool IsWs(char c) {
  // Java's \s, which the R4 regular expressions use.
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses exactly `n` digits at s[pos]; -1 when absent.
int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) {
    return -1;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) {
      return -1;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) {
    return 29;
  }
  return kDays[month - 1];
}

// hh:mm:ss(.fraction)? at s[pos]; returns the position after it, or npos.
size_t ParseTimeOfDay(std::string_view s, size_t pos) {
  int hh = Digits(s, pos, 2);
  if (hh < 0 || hh > 23 || pos + 2 >= s.size() || s[pos + 2] != ':') {
    return std::string_view::npos;
  }
  int mm = Digits(s, pos + 3, 2);
  if (mm < 0 || mm > 59 || pos + 5 >= s.size() || s[pos + 5] != ':') {
    return std::string_view::npos;
  }
  int ss = Digits(s, pos + 6, 2);
  if (ss < 0 || ss > 60) {
    return std::string_view::npos;
  }
  pos += 8;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) {
      ++pos;
    }
    if (pos == start) {
      return std::string_view::npos;
    }
  }
  return pos;
}

// Z | (+|-)hh:mm with hh:mm in 00:00..13:59 or 14:00; must end the text.
bool ParseZone(std::string_view s, size_t pos) {
  if (pos >= s.size()) {
    return false;
  }
  if (s[pos] == 'Z') {
    return pos + 1 == s.size();
  }
  if ((s[pos] != '+' && s[pos] != '-') || pos + 6 != s.size() || s[pos + 3] != ':') {
    return false;
  }
  int hh = Digits(s, pos + 1, 2);
  int mm = Digits(s, pos + 4, 2);
  if (hh < 0 || mm < 0 || mm > 59) {
    return false;
  }
  return hh < 14 || (hh == 14 && mm == 0);
}

enum class DateMode { kDate, kDateTime, kInstant };

// R4 date / dateTime / instant. Partial dates (YYYY, YYYY-MM) are allowed for date and dateTime;
// a time needs a full date, seconds and a zone; instant needs everything.
std::string CheckDateText(std::string_view s, DateMode mode) {
  const char* what = mode == DateMode::kDate       ? "date"
                     : mode == DateMode::kDateTime ? "dateTime"
                                                   : "instant";
  auto bad = [&](std::string_view why) {
    std::string m = "not a valid ";
    m += what;
    m += ": ";
    m += why;
    return m;
  };
  int year = Digits(s, 0, 4);
  if (year <= 0) {
    return bad("expected a year YYYY (0001-9999)");
  }
  if (s.size() == 4) {
    return mode == DateMode::kInstant ? bad("an instant needs date, time and time zone") : "";
  }
  int month = s[4] == '-' ? Digits(s, 5, 2) : -1;
  if (month < 1 || month > 12) {
    return bad("expected -MM (01-12) after the year");
  }
  if (s.size() == 7) {
    return mode == DateMode::kInstant ? bad("an instant needs date, time and time zone") : "";
  }
  int day = s[7] == '-' ? Digits(s, 8, 2) : -1;
  if (day < 1 || day > DaysInMonth(year, month)) {
    return bad("expected -DD, a day of that month");
  }
  if (s.size() == 10) {
    return mode == DateMode::kInstant ? bad("an instant needs date, time and time zone") : "";
  }
  if (mode == DateMode::kDate) {
    return bad("unexpected text after YYYY-MM-DD");
  }
  if (s[10] != 'T') {
    return bad("expected T and a time after the date");
  }
  size_t pos = ParseTimeOfDay(s, 11);
  if (pos == std::string_view::npos) {
    return bad("expected a time hh:mm:ss[.fff] after T (seconds are required)");
  }
  if (!ParseZone(s, pos)) {
    return bad("a time must end with a time zone: Z or +hh:mm / -hh:mm");
  }
  return "";
}

std::string CheckIntegerText(std::string_view s, int64_t min) {
  size_t i = 0;
  if (!s.empty() && s[0] == '-') {
    i = 1;
  }
  if (i == s.size()) {
    return "not an integer";
  }
  if (s.size() - i > 10) {
    return "integer out of range (32-bit)";
  }
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) {
      return "not an integer (no fraction or exponent allowed)";
    }
    v = v * 10 + (s[i] - '0');
  }
  if (s[0] == '-') {
    v = -v;
  }
  if (v < -2147483648LL || v > 2147483647LL) {
    return "integer out of range (32-bit)";
  }
  if (v < min) {
    return min == 1 ? "must be at least 1" : "must not be negative";
  }
  return "";
}

std::string CheckBase64Text(std::string_view s) {
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (IsWs(c)) {
      return "base64Binary must not contain whitespace (RFC 4648)";
    }
    bool alpha =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '+' || c == '/';
    if (c == '=') {
      ++pad;
    } else if (!alpha || pad > 0) {
      return "not valid base64 (characters A-Z a-z 0-9 + / and trailing = only)";
    }
  }
  if (pad > 2 || s.size() % 4 != 0) {
    return "not valid base64 (length must be a multiple of 4, at most two = padding)";
  }
  return "";
}

bool AllWhitespace(std::string_view s) {
  for (char c : s) {
    if (!IsWs(c)) {
      return false;
    }
  }
  return true;
}

std::string_view KindName(json::Value::Kind k) {
  switch (k) {
    case json::Value::Kind::kNull:
      return "null";
    case json::Value::Kind::kBool:
      return "boolean";
    case json::Value::Kind::kNumber:
      return "number";
    case json::Value::Kind::kString:
      return "string";
    case json::Value::Kind::kArray:
      return "array";
    case json::Value::Kind::kObject:
      return "object";
  }
  return "value";
}

json::Value::Kind JsonKindOf(PrimitiveKind k) {
  switch (k) {
    case PrimitiveKind::kBoolean:
      return json::Value::Kind::kBool;
    case PrimitiveKind::kInteger:
    case PrimitiveKind::kPositiveInt:
    case PrimitiveKind::kUnsignedInt:
    case PrimitiveKind::kDecimal:
      return json::Value::Kind::kNumber;
    default:
      return json::Value::Kind::kString;
  }
}

// Quotes a value for a message, shortened to keep messages readable.
// Control characters are shown as escapes so a message stays on one line.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 60;
  size_t end = s.size() > kMax ? kMax : s.size();
  while (end > 0 && end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
    --end;  // do not cut a UTF-8 sequence
  }
  std::string out = "'";
  for (size_t i = 0; i < end; ++i) {
    char c = s[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (end < s.size()) {
    out += "...";
  }
  out += "'";
  return out;
}

}  // namespace

std::string CheckPrimitiveText(PrimitiveKind kind, std::string_view s) {
  switch (kind) {
    case PrimitiveKind::kNone:
      return "";
    case PrimitiveKind::kBoolean:
      return s == "true" || s == "false" ? "" : "not a boolean";
    case PrimitiveKind::kInteger:
      return CheckIntegerText(s, -2147483648LL);
    case PrimitiveKind::kPositiveInt:
      return CheckIntegerText(s, 1);
    case PrimitiveKind::kUnsignedInt:
      return CheckIntegerText(s, 0);
    case PrimitiveKind::kDecimal: {
      // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      size_t i = 0;
      if (i < s.size() && s[i] == '-') {
        ++i;
      }
      size_t int_start = i;
      while (i < s.size() && IsDigit(s[i])) {
        ++i;
      }
      if (i == int_start || (s[int_start] == '0' && i - int_start > 1)) {
        return "not a decimal";
      }
      if (i < s.size() && s[i] == '.') {
        size_t f = ++i;
        while (i < s.size() && IsDigit(s[i])) {
          ++i;
        }
        if (i == f) {
          return "not a decimal";
        }
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
          ++i;
        }
        size_t e = i;
        while (i < s.size() && IsDigit(s[i])) {
          ++i;
        }
        if (i == e) {
          return "not a decimal";
        }
      }
      return i == s.size() ? "" : "not a decimal";
    }
    case PrimitiveKind::kString:
    case PrimitiveKind::kMarkdown:
      if (s.empty()) {
        return "empty string not allowed";
      }
      if (s.size() > kMaxStringBytes) {
        return "string longer than 1 MB";
      }
      return AllWhitespace(s) ? "must contain non-whitespace content" : "";
    case PrimitiveKind::kCode: {
      // [^\s]+(\s[^\s]+)*
      if (s.empty()) {
        return "empty code not allowed";
      }
      if (IsWs(s.front()) || IsWs(s.back())) {
        return "code must not start or end with whitespace";
      }
      for (size_t i = 1; i < s.size(); ++i) {
        if (IsWs(s[i]) && IsWs(s[i - 1])) {
          return "code must not contain consecutive whitespace";
        }
      }
      return "";
    }
    case PrimitiveKind::kId: {
      // [A-Za-z0-9\-\.]{1,64}
      if (s.empty() || s.size() > 64) {
        return "id must be 1 to 64 characters";
      }
      for (char c : s) {
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' ||
              c == '.')) {
          return "id may contain only A-Z a-z 0-9 - and .";
        }
      }
      return "";
    }
    case PrimitiveKind::kUri:
    case PrimitiveKind::kUrl:
    case PrimitiveKind::kCanonical:
      // \S*
      if (s.empty()) {
        return "empty uri not allowed";
      }
      for (char c : s) {
        if (IsWs(c)) {
          return "uri must not contain whitespace";
        }
      }
      return "";
    case PrimitiveKind::kOid: {
      // urn:oid:[0-2](\.(0|[1-9][0-9]*))+
      constexpr std::string_view kPrefix = "urn:oid:";
      if (s.substr(0, kPrefix.size()) != kPrefix || s.size() < kPrefix.size() + 3 ||
          s[kPrefix.size()] < '0' || s[kPrefix.size()] > '2') {
        return "oid must look like urn:oid:1.2.3";
      }
      size_t i = kPrefix.size() + 1;
      while (i < s.size()) {
        if (s[i] != '.' || i + 1 >= s.size() || !IsDigit(s[i + 1])) {
          return "oid must look like urn:oid:1.2.3";
        }
        size_t start = ++i;
        while (i < s.size() && IsDigit(s[i])) {
          ++i;
        }
        if (s[start] == '0' && i - start > 1) {
          return "oid arcs must not have leading zeros";
        }
      }
      return i == kPrefix.size() + 1 ? "oid must look like urn:oid:1.2.3" : "";
    }
    case PrimitiveKind::kUuid: {
      // urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
      constexpr std::string_view kPrefix = "urn:uuid:";
      if (s.size() != kPrefix.size() + 36 || s.substr(0, kPrefix.size()) != kPrefix) {
        return "uuid must look like urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
      }
      for (size_t i = 0; i < 36; ++i) {
        char c = s[kPrefix.size() + i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !(IsDigit(c) || (c >= 'a' && c <= 'f'))) {
          return "uuid must look like urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (lower case)";
        }
      }
      return "";
    }
    case PrimitiveKind::kDate:
      return CheckDateText(s, DateMode::kDate);
    case PrimitiveKind::kDateTime:
      return CheckDateText(s, DateMode::kDateTime);
    case PrimitiveKind::kInstant:
      return CheckDateText(s, DateMode::kInstant);
    case PrimitiveKind::kTime: {
      size_t pos = ParseTimeOfDay(s, 0);
      return pos == s.size() ? "" : "not a valid time: expected hh:mm:ss[.fff]";
    }
    case PrimitiveKind::kBase64Binary:
      return CheckBase64Text(s);
    case PrimitiveKind::kXhtml: {
      size_t i = 0;
      while (i < s.size() && IsWs(s[i])) {
        ++i;
      }
      if (s.substr(i, 4) != "<div") {
        return "narrative must be an XHTML <div> element";
      }
      return "";
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// ElementModel

const ElementModel::KeyInfo* ElementModel::TypeInfo::FindKey(std::string_view json_key) const {
  auto it = keys.find(json_key);
  return it == keys.end() ? nullptr : &it->second;
}

StatusOr<std::shared_ptr<const ElementModel>> ElementModel::Load(std::string_view elements_json) {
  auto doc = json::Parse(elements_json);
  if (!doc.ok()) {
    return InvalidArgumentError("elements.json: " + doc.status().message());
  }
  const json::Value* types = doc->Find("types");
  if (types == nullptr || !types->is_object() || types->object().empty()) {
    return InvalidArgumentError("elements.json: missing \"types\" object");
  }
  auto model = std::make_shared<ElementModel>();
  // Pass 1: every type with its kind.
  for (const auto& member : types->object()) {
    const json::Value& def = member.value;
    if (!def.is_object()) {
      return InvalidArgumentError("elements.json: type " + member.key + " is not an object");
    }
    auto t = std::make_unique<TypeInfo>();
    t->name = member.key;
    std::string_view kind = def.GetString("kind");
    if (kind == "primitive") {
      t->kind = TypeKind::kPrimitive;
      for (const auto& p : kPrimitives) {
        if (p.name == t->name) {
          t->primitive = p.kind;
        }
      }
      if (t->primitive == PrimitiveKind::kNone) {
        return InvalidArgumentError("elements.json: unknown primitive type " + t->name);
      }
    } else if (kind == "complex") {
      t->kind = TypeKind::kComplex;
    } else if (kind == "resource") {
      t->kind = TypeKind::kResource;
    } else if (kind == "backbone") {
      t->kind = TypeKind::kBackbone;
    } else {
      return InvalidArgumentError("elements.json: type " + t->name + " has bad kind");
    }
    const json::Value* abs = def.Find("abstract");
    t->is_abstract = abs != nullptr && abs->is_bool() && abs->bool_value();
    if (!model->by_name_.emplace(t->name, t.get()).second) {
      return InvalidArgumentError("elements.json: duplicate type " + t->name);
    }
    model->types_.push_back(std::move(t));
  }
  // Pass 2: bases.
  std::vector<const json::Value*> defs;
  for (const auto& member : types->object()) {
    defs.push_back(&member.value);
  }
  for (size_t i = 0; i < model->types_.size(); ++i) {
    std::string_view base = defs[i]->GetString("base");
    if (base.empty()) {
      continue;
    }
    const TypeInfo* b = model->FindType(base);
    if (b == nullptr) {
      return InvalidArgumentError("elements.json: type " + model->types_[i]->name +
                                  " has unknown base " + std::string(base));
    }
    model->types_[i]->base = b;
  }
  // Pass 3: flatten elements, base first. Bases may be defined after the type, so recurse.
  std::vector<int> state(model->types_.size(), 0);  // 0 todo, 1 in progress, 2 done
  std::unordered_map<const TypeInfo*, size_t> index;
  for (size_t i = 0; i < model->types_.size(); ++i) {
    index[model->types_[i].get()] = i;
  }
  std::string error;
  auto flatten = [&](auto& self, size_t i) -> bool {
    if (state[i] == 2) {
      return true;
    }
    TypeInfo& t = *model->types_[i];
    if (state[i] == 1) {
      error = "elements.json: base cycle at " + t.name;
      return false;
    }
    state[i] = 1;
    if (t.base != nullptr) {
      size_t b = index[t.base];
      if (!self(self, b)) {
        return false;
      }
      t.elements = model->types_[b]->elements;
    }
    const json::Value* elements = defs[i]->Find("elements");
    if (elements != nullptr) {
      if (!elements->is_object()) {
        error = "elements.json: " + t.name + ".elements is not an object";
        return false;
      }
      for (const auto& em : elements->object()) {
        const json::Value& ed = em.value;
        ElementInfo el;
        el.name = em.key;
        const json::Value* tl = ed.Find("type");
        if (tl == nullptr || !tl->is_array() || tl->array().empty()) {
          error = "elements.json: " + t.name + "." + el.name + " has no type";
          return false;
        }
        for (const auto& tv : tl->array()) {
          const TypeInfo* et = tv.is_string() ? model->FindType(tv.str()) : nullptr;
          if (et == nullptr) {
            error = "elements.json: " + t.name + "." + el.name + " has unknown type " + tv.str();
            return false;
          }
          el.types.push_back(et);
        }
        if (const json::Value* v = ed.Find("min"); v != nullptr && v->is_number()) {
          el.min = v->str() == "0" ? 0 : 1;
        }
        std::string_view max = ed.GetString("max");
        el.repeating = !max.empty() && max != "1";
        el.choice = el.name.size() > 3 && el.name.ends_with("[x]");
        const json::Value* summary = ed.Find("summary");
        el.summary = summary != nullptr && summary->is_bool() && summary->bool_value();
        const json::Value* modifier = ed.Find("modifier");
        el.modifier = modifier != nullptr && modifier->is_bool() && modifier->bool_value();
        if (!el.choice && el.types.size() != 1) {
          error = "elements.json: " + t.name + "." + el.name + " has several types but no [x]";
          return false;
        }
        for (const auto& existing : t.elements) {
          if (existing.name == el.name) {
            error = "elements.json: " + t.name + "." + el.name + " redefines an inherited element";
            return false;
          }
        }
        t.elements.push_back(std::move(el));
      }
    }
    if (t.elements.size() > kMaxElements) {
      error = "elements.json: " + t.name + " has too many elements";
      return false;
    }
    for (size_t e = 0; e < t.elements.size(); ++e) {
      const ElementInfo& el = t.elements[e];
      if (el.min > 0) {
        t.required.push_back(static_cast<uint16_t>(e));
      }
      if (!el.choice) {
        t.keys[el.name] = KeyInfo{static_cast<uint16_t>(e), 0};
        continue;
      }
      std::string_view prefix = std::string_view(el.name).substr(0, el.name.size() - 3);
      for (size_t k = 0; k < el.types.size(); ++k) {
        std::string key(prefix);
        const std::string& tn = el.types[k]->name;
        key += static_cast<char>(tn[0] >= 'a' && tn[0] <= 'z' ? tn[0] - 'a' + 'A' : tn[0]);
        key.append(tn, 1);
        t.keys[key] = KeyInfo{static_cast<uint16_t>(e), static_cast<uint16_t>(k)};
      }
    }
    state[i] = 2;
    return true;
  };
  for (size_t i = 0; i < model->types_.size(); ++i) {
    if (!flatten(flatten, i)) {
      return InvalidArgumentError(error);
    }
  }
  for (const char* needed : {"Element", "Extension", "Resource", "Narrative"}) {
    if (model->FindType(needed) == nullptr) {
      return InvalidArgumentError(std::string("elements.json: missing type ") + needed);
    }
  }
  return std::shared_ptr<const ElementModel>(std::move(model));
}

StatusOr<std::shared_ptr<const ElementModel>> ElementModel::LoadBuiltin() {
  // The builtin data never changes, so load it once and share it.
  static const auto* const kModel =
      new StatusOr<std::shared_ptr<const ElementModel>>(Load(builtin::ElementsJson()));
  return *kModel;
}

const ElementModel::TypeInfo* ElementModel::FindType(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const ElementModel::TypeInfo* ElementModel::FindResourceType(std::string_view name) const {
  const TypeInfo* t = FindType(name);
  return t != nullptr && t->kind == TypeKind::kResource && !t->is_abstract ? t : nullptr;
}

std::vector<std::string> ElementModel::SummaryElements(std::string_view type) const {
  std::vector<std::string> out;
  const TypeInfo* t = FindType(type);
  if (t == nullptr) {
    return out;
  }
  for (const auto& el : t->elements) {
    if (el.summary) {
      out.push_back(el.name);
    }
  }
  return out;
}

bool ElementModel::IsSummaryKey(std::string_view type, std::string_view json_key) const {
  const TypeInfo* t = FindType(type);
  if (t == nullptr) {
    return false;
  }
  if (json_key == "resourceType") {
    return t->kind == TypeKind::kResource;
  }
  if (json_key.starts_with('_')) {
    json_key.remove_prefix(1);
  }
  const KeyInfo* k = t->FindKey(json_key);
  return k != nullptr && t->elements[k->element].summary;
}

// ---------------------------------------------------------------------------------------------
// Validation

namespace {

class Validator {
 public:
  Validator(const ElementModel& model, int max_issues)
      : model_(model),
        max_issues_(max_issues < 1 ? 1 : static_cast<size_t>(max_issues)),
        element_type_(model.FindType("Element")),
        extension_type_(model.FindType("Extension")) {}

  void ValidateRoot(const json::Value& v) { ValidateResourceValue(v, /*nested=*/false); }

  std::vector<ValidationIssue> TakeIssues() { return std::move(issues_); }

 private:
  bool Full() const { return issues_.size() >= max_issues_; }

  void Issue(std::string message) {
    if (!Full()) {
      issues_.push_back(ValidationIssue{path_.empty() ? "(root)" : path_, std::move(message)});
    }
  }

  void IssueAt(std::string_view child, std::string message) {
    size_t mark = path_.size();
    path_ += '.';
    path_ += child;
    Issue(std::move(message));
    path_.resize(mark);
  }

  void AppendIndex(size_t i) {
    path_ += '[';
    path_ += std::to_string(i);
    path_ += ']';
  }

  // A resource: at the root (path starts with its type) or nested (path gets ".ofType(T)").
  void ValidateResourceValue(const json::Value& v, bool nested) {
    if (!v.is_object()) {
      Issue("expected a resource (JSON object), found " + std::string(KindName(v.kind())));
      return;
    }
    const json::Value* rt = v.Find("resourceType");
    if (rt == nullptr || !rt->is_string()) {
      Issue("missing resourceType");
      return;
    }
    const TypeInfo* type = model_.FindResourceType(rt->str());
    if (type == nullptr) {
      Issue("unknown resourceType " + Excerpt(rt->str()));
      return;
    }
    size_t mark = path_.size();
    if (nested) {
      path_ += ".ofType(";
      path_ += type->name;
      path_ += ')';
    } else {
      path_ = type->name;
    }
    ValidateObject(*type, v, /*is_resource=*/true);
    path_.resize(mark);
  }

  void ValidateObject(const TypeInfo& type, const json::Value& obj, bool is_resource) {
    const json::Value::Object& members = obj.object();
    if (members.empty()) {
      Issue("empty object not allowed");
      return;
    }
    const size_t n = type.elements.size();
    // Per element: bit 1 = value present, bit 2 = `_name` present; chosen choice type + 1.
    std::array<uint8_t, kMaxElements> seen;
    std::array<uint8_t, kMaxElements> chosen;
    std::fill_n(seen.begin(), n, 0);
    std::fill_n(chosen.begin(), n, 0);
    for (const auto& member : members) {
      if (Full()) {
        return;
      }
      std::string_view key = member.key;
      if ((is_resource && key == "resourceType") || key == "fhir_comments") {
        continue;
      }
      const bool sibling = key.starts_with('_');
      std::string_view name = sibling ? key.substr(1) : key;
      const ElementModel::KeyInfo* k = type.FindKey(name);
      const ElementInfo* el = k != nullptr ? &type.elements[k->element] : nullptr;
      const TypeInfo* t = el != nullptr ? el->types[k->type] : nullptr;
      if (t == nullptr || (sibling && t->kind != TypeKind::kPrimitive)) {
        IssueAt(key, "unknown element '" + std::string(key) + "' for type " + type.name);
        continue;
      }
      if (el->choice) {
        if (chosen[k->element] != 0 && chosen[k->element] != k->type + 1) {
          IssueAt(key, "element " + el->name + " has more than one type (" +
                           el->types[chosen[k->element] - 1]->name + " and " + t->name + ")");
          continue;
        }
        chosen[k->element] = static_cast<uint8_t>(k->type + 1);
      }
      seen[k->element] |= sibling ? 2 : 1;
      size_t mark = path_.size();
      path_ += '.';
      path_ += key;
      if (sibling) {
        ValidatePrimitiveSibling(*el, member.value, obj.Find(name));
      } else {
        ValidateElementValue(*el, *t, member.value, obj, key);
      }
      path_.resize(mark);
    }
    for (uint16_t e : type.required) {
      if (seen[e] == 0) {
        IssueAt(type.elements[e].name, "missing required element (min 1)");
      }
    }
    if (&type == extension_type_) {
      bool has_extension = false;
      bool has_value = false;
      for (size_t e = 0; e < n; ++e) {
        if (seen[e] != 0 && type.elements[e].name == "extension") {
          has_extension = true;
        }
        if (seen[e] != 0 && type.elements[e].name == "value[x]") {
          has_value = true;
        }
      }
      if (has_extension == has_value) {
        Issue("an extension must have either extensions or value[x], not both (ext-1)");
      }
    }
  }

  void ValidateElementValue(const ElementInfo& el, const TypeInfo& t, const json::Value& v,
                            const json::Value& parent, std::string_view key) {
    if (!el.repeating) {
      if (v.is_array()) {
        Issue("expected a single value, found an array (" + el.name + " has max 1)");
        return;
      }
      ValidateSingle(t, v);
      return;
    }
    if (!v.is_array()) {
      Issue("expected an array (" + el.name + " repeats), found " +
            std::string(KindName(v.kind())));
      return;
    }
    const json::Value::Array& items = v.array();
    if (items.empty()) {
      Issue("empty array not allowed");
      return;
    }
    const json::Value* ext = nullptr;
    bool ext_looked_up = false;
    for (size_t i = 0; i < items.size() && !Full(); ++i) {
      size_t mark = path_.size();
      AppendIndex(i);
      if (items[i].is_null() && t.kind == TypeKind::kPrimitive) {
        // Allowed only where the `_name` array carries the extensions of this item.
        if (!ext_looked_up) {
          ext = parent.Find("_" + std::string(key));
          ext_looked_up = true;
        }
        if (ext == nullptr || !ext->is_array() || i >= ext->array().size() ||
            !ext->array()[i].is_object()) {
          Issue("null not allowed (no matching _" + std::string(key) + " entry)");
        }
      } else {
        ValidateSingle(t, items[i]);
      }
      path_.resize(mark);
    }
  }

  // The `_name` sibling of a primitive element: {id, extension}, or an array of them (or null)
  // parallel to the value array.
  void ValidatePrimitiveSibling(const ElementInfo& el, const json::Value& v,
                                const json::Value* value) {
    if (!el.repeating) {
      if (!v.is_object()) {
        Issue("expected an object with id/extension, found " + std::string(KindName(v.kind())));
        return;
      }
      ValidateObject(*element_type_, v, false);
      return;
    }
    if (!v.is_array()) {
      Issue("expected an array (" + el.name + " repeats), found " +
            std::string(KindName(v.kind())));
      return;
    }
    const json::Value::Array& items = v.array();
    if (items.empty()) {
      Issue("empty array not allowed");
      return;
    }
    if (value != nullptr && value->is_array() && value->array().size() != items.size()) {
      Issue("array length differs from the value array (" + std::to_string(value->array().size()) +
            ")");
      return;
    }
    for (size_t i = 0; i < items.size() && !Full(); ++i) {
      if (items[i].is_null()) {
        continue;
      }
      size_t mark = path_.size();
      AppendIndex(i);
      if (!items[i].is_object()) {
        Issue("expected an object with id/extension or null, found " +
              std::string(KindName(items[i].kind())));
      } else {
        ValidateObject(*element_type_, items[i], false);
      }
      path_.resize(mark);
    }
  }

  void ValidateSingle(const TypeInfo& t, const json::Value& v) {
    switch (t.kind) {
      case TypeKind::kPrimitive:
        ValidatePrimitive(t, v);
        return;
      case TypeKind::kResource:
        ValidateResourceValue(v, /*nested=*/true);
        return;
      case TypeKind::kComplex:
      case TypeKind::kBackbone:
        if (!v.is_object()) {
          Issue("expected an object (" + t.name + "), found " + std::string(KindName(v.kind())));
          return;
        }
        ValidateObject(t, v, /*is_resource=*/false);
        return;
    }
  }

  void ValidatePrimitive(const TypeInfo& t, const json::Value& v) {
    json::Value::Kind want = JsonKindOf(t.primitive);
    if (v.kind() != want) {
      Issue("expected a JSON " + std::string(KindName(want)) + " (" + t.name + "), found " +
            std::string(KindName(v.kind())));
      return;
    }
    if (want == json::Value::Kind::kBool) {
      return;
    }
    if (v.is_string() && v.str().empty()) {
      Issue("empty string not allowed");
      return;
    }
    std::string why = CheckPrimitiveText(t.primitive, v.str());
    if (!why.empty()) {
      Issue("invalid " + t.name + " " + Excerpt(v.str()) + ": " + why);
    }
  }

  const ElementModel& model_;
  const size_t max_issues_;
  const TypeInfo* element_type_;
  const TypeInfo* extension_type_;
  std::string path_;
  std::vector<ValidationIssue> issues_;
};

}  // namespace

std::vector<ValidationIssue> ValidateResource(const ElementModel& model,
                                              const json::Value& resource, int max_issues) {
  Validator v(model, max_issues);
  v.ValidateRoot(resource);
  return v.TakeIssues();
}

}  // namespace portico::fhir
