#include "src/fhir/search/indexer.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "src/base/strings.h"

namespace portico::fhir {

namespace {

constexpr base::Millis kMinMillis = std::numeric_limits<base::Millis>::min() / 2;
constexpr base::Millis kMaxMillis = std::numeric_limits<base::Millis>::max() / 2;

void Walk(const json::Value& node, const std::vector<PathStep>& path, size_t i,
          std::vector<const json::Value*>& out) {
  if (node.is_array()) {
    for (const json::Value& item : node.array()) {
      Walk(item, path, i, out);
    }
    return;
  }
  if (i == path.size()) {
    out.push_back(&node);
    return;
  }
  const PathStep& step = path[i];
  const json::Value* child = node.Find(step.name);
  if (child == nullptr) {
    return;
  }
  auto visit = [&](const json::Value& v) {
    if (!step.filter_field.empty()) {
      const json::Value* f = v.Find(step.filter_field);
      if (f == nullptr || !(f->is_string() || f->is_bool()) ||
          (f->is_string() ? f->str() : (f->bool_value() ? "true" : "false")) !=
              step.filter_value) {
        return;
      }
    }
    Walk(v, path, i + 1, out);
  };
  if (child->is_array()) {
    for (const json::Value& item : child->array()) {
      visit(item);
    }
  } else {
    visit(*child);
  }
}

void AddToken(IndexEntries& e, const std::string& param, const json::Value& v) {
  if (v.is_string()) {
    e.tokens.push_back({param, "", v.str(), ""});
    return;
  }
  if (v.is_bool()) {
    e.tokens.push_back({param, "", v.bool_value() ? "true" : "false", ""});
    return;
  }
  if (!v.is_object()) {
    return;
  }
  if (const json::Value* coding = v.Find("coding"); coding != nullptr && coding->is_array()) {
    std::string text = base::NormalizeForSearch(v.GetString("text"));
    bool any = false;
    for (const json::Value& c : coding->array()) {
      std::string_view code = c.GetString("code");
      std::string t = text;
      if (t.empty()) {
        t = base::NormalizeForSearch(c.GetString("display"));
      }
      if (!code.empty() || !t.empty()) {
        e.tokens.push_back({param, std::string(c.GetString("system")), std::string(code), t});
        any = true;
      }
    }
    if (!any && !text.empty()) {
      e.tokens.push_back({param, "", "", text});
    }
    return;
  }
  if (v.Find("text") != nullptr && v.Find("code") == nullptr && v.Find("value") == nullptr) {
    e.tokens.push_back({param, "", "", base::NormalizeForSearch(v.GetString("text"))});
    return;
  }
  if (const json::Value* code = v.Find("code"); code != nullptr && code->is_string()) {
    e.tokens.push_back({param, std::string(v.GetString("system")), code->str(),
                        base::NormalizeForSearch(v.GetString("display"))});
    return;
  }
  if (const json::Value* value = v.Find("value"); value != nullptr && value->is_string()) {
    std::string text;
    if (const json::Value* type = v.Find("type"); type != nullptr) {
      text = base::NormalizeForSearch(type->GetString("text"));
    }
    e.tokens.push_back({param, std::string(v.GetString("system")), value->str(), text});
    // Identifier.type for :of-type, stored under "<param>:of-type" as system=type system,
    // code="<type code>|<value>".
    if (const json::Value* type = v.Find("type"); type != nullptr) {
      if (const json::Value* tc = type->Find("coding"); tc != nullptr && tc->is_array()) {
        for (const json::Value& c : tc->array()) {
          e.tokens.push_back({param + ":of-type", std::string(c.GetString("system")),
                              std::string(c.GetString("code")) + "|" + value->str(), ""});
        }
      }
    }
  }
}

void AddStrings(IndexEntries& e, const std::string& param, const json::Value& v, int depth) {
  if (v.is_string()) {
    if (!v.str().empty()) {
      e.strings.push_back({param, base::NormalizeForSearch(v.str()), v.str()});
    }
    return;
  }
  if (depth > 1) {
    return;
  }
  if (v.is_array()) {
    for (const json::Value& item : v.array()) {
      AddStrings(e, param, item, depth);
    }
    return;
  }
  if (v.is_object()) {
    for (const auto& m : v.object()) {
      if (m.key == "use" || m.key == "system" || m.key == "id" || m.key == "type" ||
          m.key == "extension" || m.key == "period") {
        continue;
      }
      AddStrings(e, param, m.value, depth + 1);
    }
  }
}

void AddDate(IndexEntries& e, const std::string& param, const json::Value& v) {
  if (v.is_string()) {
    if (auto r = base::ParseFhirDateRange(v.str())) {
      e.dates.push_back({param, r->low, r->high});
    }
    return;
  }
  if (!v.is_object()) {
    return;
  }
  const json::Value* start = v.Find("start");
  const json::Value* end = v.Find("end");
  if (start != nullptr || end != nullptr) {
    base::Millis lo = kMinMillis;
    base::Millis hi = kMaxMillis;
    if (start != nullptr && start->is_string()) {
      if (auto r = base::ParseFhirDateRange(start->str())) {
        lo = r->low;
      }
    }
    if (end != nullptr && end->is_string()) {
      if (auto r = base::ParseFhirDateRange(end->str())) {
        hi = r->high;
      }
    }
    e.dates.push_back({param, lo, hi});
    return;
  }
  if (const json::Value* event = v.Find("event"); event != nullptr && event->is_array()) {
    for (const json::Value& ev : event->array()) {
      AddDate(e, param, ev);
    }
  }
  if (const json::Value* repeat = v.Find("repeat"); repeat != nullptr) {
    if (const json::Value* bounds = repeat->Find("boundsPeriod"); bounds != nullptr) {
      AddDate(e, param, *bounds);
    }
  }
}

void AddReference(IndexEntries& e, const SearchParam& p, const json::Value& v) {
  std::string ref;
  if (v.is_string()) {
    ref = v.str();
  } else if (v.is_object()) {
    ref = std::string(v.GetString("reference"));
    if (const json::Value* ident = v.Find("identifier"); ident != nullptr && ident->is_object()) {
      if (const json::Value* value = ident->Find("value"); value != nullptr && value->is_string()) {
        e.tokens.push_back({p.name + ":identifier", std::string(ident->GetString("system")),
                            value->str(), ""});
      }
    }
  }
  if (ref.empty()) {
    return;
  }
  std::string type;
  std::string id;
  if (SplitReference(ref, type, id)) {
    if (!p.targets.empty() &&
        std::find(p.targets.begin(), p.targets.end(), type) == p.targets.end()) {
      return;
    }
    e.references.push_back({p.name, type, id, ref});
  } else {
    e.references.push_back({p.name, "", "", ref});
  }
}

void AddQuantity(IndexEntries& e, const std::string& param, const json::Value& v) {
  if (!v.is_object()) {
    return;
  }
  const json::Value* value = v.Find("value");
  if (value == nullptr || !value->is_number()) {
    return;
  }
  QuantityEntry q{param, std::strtod(value->str().c_str(), nullptr), value->str(),
                  std::string(v.GetString("system")), std::string(v.GetString("code")),
                  std::string(v.GetString("unit"))};
  if (q.code.empty() && !v.GetString("currency").empty()) {
    q.system = "urn:iso:std:iso:4217";
    q.code = std::string(v.GetString("currency"));
  }
  e.quantities.push_back(std::move(q));
}

// Adds the index entries of one element value `v` for parameter `p` (any non-composite type).
void AddValue(IndexEntries& e, const SearchParam& p, const json::Value& v) {
  switch (p.type) {
    case ParamType::kToken:
      AddToken(e, p.name, v);
      break;
    case ParamType::kString:
      AddStrings(e, p.name, v, 0);
      break;
    case ParamType::kDate:
      AddDate(e, p.name, v);
      break;
    case ParamType::kReference:
      AddReference(e, p, v);
      break;
    case ParamType::kQuantity:
      AddQuantity(e, p.name, v);
      break;
    case ParamType::kNumber:
      if (v.is_number()) {
        e.numbers.push_back({p.name, std::strtod(v.str().c_str(), nullptr), v.str()});
      }
      break;
    case ParamType::kUri:
      if (v.is_string()) {
        e.uris.push_back({p.name, v.str()});
      }
      break;
    default:
      break;
  }
}

// Composite: for each base element, the values of every component taken from that element. A
// composite search names every component, so an element that lacks one of them can never match:
// it gets no rows (a quarter of an Observation's composite rows had no value component).
void AddComposite(IndexEntries& e, const SearchParamRegistry& registry, std::string_view type,
                  const SearchParam& p, const json::Value& resource) {
  // The components' own parameters, found once; one unknown and no element can be complete.
  std::vector<const SearchParam*> component_params;
  for (const CompositeComponent& comp : p.components) {
    const SearchParam* cp = registry.Find(type, comp.param);
    if (cp == nullptr) {
      return;
    }
    component_params.push_back(cp);
  }
  int group = 0;
  std::vector<const json::Value*> bases;
  for (const auto& base : p.composite_bases) {
    EvaluatePath(resource, base, bases);
  }
  std::vector<const json::Value*> values;
  for (const json::Value* element : bases) {
    ++group;
    const size_t group_start = e.composites.size();
    bool complete = true;
    for (size_t ci = 0; ci < p.components.size() && complete; ++ci) {
      const CompositeComponent& comp = p.components[ci];
      const SearchParam* cp = component_params[ci];
      values.clear();
      for (const auto& path : comp.paths) {
        EvaluatePath(*element, path, values);
      }
      IndexEntries sub;
      for (const json::Value* v : values) {
        AddValue(sub, *cp, *v);
      }
      const size_t component_start = e.composites.size();
      auto make = [&]() {
        CompositeEntry c;
        c.param = p.name;
        c.group = group;
        c.component = static_cast<int>(ci);
        return c;
      };
      for (const TokenEntry& t : sub.tokens) {
        if (t.param != cp->name) {
          continue;  // :of-type / :identifier side entries
        }
        CompositeEntry c = make();
        c.system = t.system;
        c.code = t.code;
        c.text = t.text;
        e.composites.push_back(std::move(c));
      }
      for (const StringEntry& s : sub.strings) {
        CompositeEntry c = make();
        c.norm = s.normalized;
        c.exact = s.exact;
        e.composites.push_back(std::move(c));
      }
      for (const DateEntry& d : sub.dates) {
        CompositeEntry c = make();
        c.lo = d.low;
        c.hi = d.high;
        e.composites.push_back(std::move(c));
      }
      for (const ReferenceEntry& r : sub.references) {
        CompositeEntry c = make();
        c.target_type = r.target_type;
        c.target_id = r.target_id;
        c.url = r.url;
        e.composites.push_back(std::move(c));
      }
      for (const QuantityEntry& q : sub.quantities) {
        CompositeEntry c = make();
        c.value = q.value;
        c.system = q.system;
        c.code = q.code;
        c.unit = q.unit;
        e.composites.push_back(std::move(c));
      }
      for (const NumberEntry& n : sub.numbers) {
        CompositeEntry c = make();
        c.value = n.value;
        e.composites.push_back(std::move(c));
      }
      for (const UriEntry& u : sub.uris) {
        CompositeEntry c = make();
        c.code = u.value;
        e.composites.push_back(std::move(c));
      }
      complete = e.composites.size() > component_start;
    }
    if (!complete) {
      e.composites.resize(group_start);
    }
  }
}

}  // namespace

bool SplitReference(std::string_view ref, std::string& type, std::string& id) {
  if (ref.empty() || ref[0] == '#' || base::StartsWith(ref, "urn:")) {
    return false;
  }
  if (size_t h = ref.find("/_history/"); h != std::string_view::npos) {
    ref = ref.substr(0, h);
  }
  size_t slash = ref.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == ref.size()) {
    return false;
  }
  size_t prev = ref.rfind('/', slash - 1);
  std::string_view t = prev == std::string_view::npos ? ref.substr(0, slash)
                                                      : ref.substr(prev + 1, slash - prev - 1);
  if (t.empty() || !(t[0] >= 'A' && t[0] <= 'Z')) {
    return false;
  }
  type = std::string(t);
  id = std::string(ref.substr(slash + 1));
  return true;
}

void EvaluatePath(const json::Value& root, const std::vector<PathStep>& path,
                  std::vector<const json::Value*>& out) {
  Walk(root, path, 0, out);
}

IndexEntries ExtractIndex(const SearchParamRegistry& registry, std::string_view type,
                          const json::Value& resource) {
  IndexEntries e;
  std::vector<const json::Value*> values;
  for (const SearchParam* p : registry.ForType(type)) {
    if (p->type == ParamType::kComposite) {
      AddComposite(e, registry, type, *p, resource);
      continue;
    }
    if (p->type == ParamType::kSpecial) {
      continue;
    }
    values.clear();
    for (const auto& path : p->paths) {
      EvaluatePath(resource, path, values);
    }
    for (const json::Value* v : values) {
      AddValue(e, *p, *v);
    }
  }
  if (const json::Value* meta = resource.Find("meta"); meta != nullptr) {
    if (const json::Value* prof = meta->Find("profile"); prof != nullptr && prof->is_array()) {
      for (const json::Value& pr : prof->array()) {
        if (pr.is_string()) {
          e.profiles.push_back(pr.str());
          size_t bar = pr.str().find('|');
          if (bar != std::string::npos) {
            e.profiles.push_back(pr.str().substr(0, bar));
          }
        }
      }
    }
    for (const char* field : {"tag", "security"}) {
      if (const json::Value* tags = meta->Find(field); tags != nullptr && tags->is_array()) {
        for (const json::Value& t : tags->array()) {
          e.tags.push_back({std::string("_") + field, std::string(t.GetString("system")),
                            std::string(t.GetString("code")), ""});
        }
      }
    }
  }
  // One row per (parameter, target): a reference repeated at two paths would otherwise yield
  // the resource twice when a search is driven from the reference index.
  {
    std::vector<ReferenceEntry> unique;
    for (ReferenceEntry& r : e.references) {
      bool dup = false;
      for (const ReferenceEntry& u : unique) {
        dup = dup || (u.param == r.param && u.target_type == r.target_type &&
                      u.target_id == r.target_id && (!r.target_type.empty() || u.url == r.url));
      }
      if (!dup) {
        unique.push_back(std::move(r));
      }
    }
    e.references = std::move(unique);
  }
  for (const std::string& param : registry.PatientCompartmentParams(type)) {
    if (param == "{def}") {
      e.patients.emplace_back(resource.GetString("id"));
      continue;
    }
    for (const ReferenceEntry& r : e.references) {
      if (r.param == param && r.target_type == "Patient") {
        e.patients.push_back(r.target_id);
      }
    }
  }
  std::sort(e.patients.begin(), e.patients.end());
  e.patients.erase(std::unique(e.patients.begin(), e.patients.end()), e.patients.end());
  return e;
}

}  // namespace portico::fhir
