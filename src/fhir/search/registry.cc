#include "src/fhir/search/registry.h"

#include <algorithm>

#include "src/base/strings.h"
#include "src/fhir/search/builtin_data.h"
#include "src/json/json.h"

namespace portico::fhir {

std::string_view ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kToken:
      return "token";
    case ParamType::kReference:
      return "reference";
    case ParamType::kDate:
      return "date";
    case ParamType::kString:
      return "string";
    case ParamType::kQuantity:
      return "quantity";
    case ParamType::kUri:
      return "uri";
    case ParamType::kNumber:
      return "number";
    case ParamType::kComposite:
      return "composite";
    case ParamType::kSpecial:
      return "special";
  }
  return "token";
}

namespace {

bool ParseParamType(std::string_view s, ParamType& out) {
  static const std::pair<std::string_view, ParamType> kTypes[] = {
      {"token", ParamType::kToken},         {"reference", ParamType::kReference},
      {"date", ParamType::kDate},           {"string", ParamType::kString},
      {"quantity", ParamType::kQuantity},   {"uri", ParamType::kUri},
      {"number", ParamType::kNumber},       {"composite", ParamType::kComposite},
      {"special", ParamType::kSpecial}};
  for (const auto& [name, t] : kTypes) {
    if (s == name) {
      out = t;
      return true;
    }
  }
  return false;
}

}  // namespace

StatusOr<std::vector<PathStep>> ParsePath(std::string_view path) {
  std::vector<PathStep> steps;
  if (path.empty()) {
    return steps;
  }
  std::vector<std::string_view> segments;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '[') {
      ++depth;
    } else if (path[i] == ']') {
      --depth;
    } else if (path[i] == '.' && depth == 0) {
      segments.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  segments.push_back(path.substr(start));
  for (std::string_view seg : segments) {
    PathStep step;
    size_t br = seg.find('[');
    if (br != std::string_view::npos) {
      if (seg.back() != ']') {
        return InvalidArgumentError("bad path filter in '" + std::string(path) + "'");
      }
      std::string_view filter = seg.substr(br + 1, seg.size() - br - 2);
      size_t eq = filter.find('=');
      if (eq == std::string_view::npos) {
        return InvalidArgumentError("bad path filter in '" + std::string(path) + "'");
      }
      step.filter_field = std::string(filter.substr(0, eq));
      step.filter_value = std::string(filter.substr(eq + 1));
      seg = seg.substr(0, br);
    }
    if (seg.empty()) {
      return InvalidArgumentError("empty path segment in '" + std::string(path) + "'");
    }
    step.name = std::string(seg);
    steps.push_back(std::move(step));
  }
  return steps;
}

StatusOr<std::shared_ptr<const SearchParamRegistry>> SearchParamRegistry::Load(
    std::string_view params_json, std::string_view compartment_json,
    std::string_view resource_types) {
  auto reg = std::make_shared<SearchParamRegistry>();
  for (std::string_view line : base::Split(resource_types, '\n')) {
    line = base::Trim(line);
    if (!line.empty() && line[0] != '#') {
      reg->resource_types_.emplace(line);
    }
  }
  ASSIGN_OR_RETURN(json::Value doc, json::Parse(params_json));
  const json::Value* list = doc.Find("parameters");
  if (list == nullptr || !list->is_array()) {
    return InvalidArgumentError("search parameters: missing 'parameters' array");
  }
  for (const json::Value& item : list->array()) {
    auto p = std::make_unique<SearchParam>();
    p->resource = std::string(item.GetString("resource"));
    p->name = std::string(item.GetString("name"));
    p->description = std::string(item.GetString("description"));
    p->source = std::string(item.GetString("source"));
    if (p->resource.empty() || p->name.empty() ||
        !ParseParamType(item.GetString("type"), p->type)) {
      return InvalidArgumentError("search parameters: bad entry " + json::Serialize(item));
    }
    if (const json::Value* paths = item.Find("paths"); paths != nullptr && paths->is_array()) {
      for (const json::Value& path : paths->array()) {
        ASSIGN_OR_RETURN(auto steps, ParsePath(path.str()));
        p->paths.push_back(std::move(steps));
      }
    }
    if (const json::Value* t = item.Find("targets"); t != nullptr && t->is_array()) {
      for (const json::Value& target : t->array()) {
        p->targets.push_back(target.str());
      }
    }
    if (const json::Value* b = item.Find("bases"); b != nullptr && b->is_array()) {
      for (const json::Value& base : b->array()) {
        ASSIGN_OR_RETURN(auto steps, ParsePath(base.is_string() ? base.str() : ""));
        p->composite_bases.push_back(std::move(steps));
      }
    }
    if (const json::Value* c = item.Find("components"); c != nullptr && c->is_array()) {
      for (const json::Value& comp : c->array()) {
        CompositeComponent cc;
        cc.param = std::string(comp.GetString("param"));
        if (const json::Value* cp = comp.Find("paths"); cp != nullptr && cp->is_array()) {
          for (const json::Value& path : cp->array()) {
            ASSIGN_OR_RETURN(auto steps, ParsePath(path.is_string() ? path.str() : ""));
            cc.paths.push_back(std::move(steps));
          }
        }
        p->components.push_back(std::move(cc));
      }
    }
    if (p->type == ParamType::kComposite) {
      if (p->composite_bases.empty() || p->components.size() < 2) {
        return InvalidArgumentError("search parameters: composite " + p->resource + "." +
                                    p->name + " needs bases and at least two components");
      }
      for (const CompositeComponent& cc : p->components) {
        if (cc.param.empty() || cc.paths.empty()) {
          return InvalidArgumentError("search parameters: composite " + p->resource + "." +
                                      p->name + " has a component without param or paths");
        }
      }
    }
    reg->by_type_[p->resource].push_back(p.get());
    reg->params_.push_back(std::move(p));
  }
  for (const auto& p : reg->params_) {
    for (const CompositeComponent& cc : p->components) {
      const SearchParam* cp = reg->Find(p->resource, cc.param);
      if (cp == nullptr || cp->type == ParamType::kComposite || cp->type == ParamType::kSpecial) {
        return InvalidArgumentError("search parameters: composite " + p->resource + "." + p->name +
                                    " names unknown component parameter '" + cc.param + "'");
      }
    }
  }
  for (auto& [type, params] : reg->by_type_) {
    std::sort(params.begin(), params.end(),
              [](const SearchParam* a, const SearchParam* b) { return a->name < b->name; });
  }
  ASSIGN_OR_RETURN(json::Value comp, json::Parse(compartment_json));
  const json::Value* resources = comp.Find("resources");
  if (resources == nullptr || !resources->is_object()) {
    return InvalidArgumentError("compartment: missing 'resources' object");
  }
  for (const auto& m : resources->object()) {
    std::vector<std::string> params;
    for (const json::Value& p : m.value.array()) {
      params.push_back(p.str());
    }
    if (!params.empty()) {
      reg->compartment_[m.key] = std::move(params);
    }
  }
  return std::shared_ptr<const SearchParamRegistry>(std::move(reg));
}

StatusOr<std::shared_ptr<const SearchParamRegistry>> SearchParamRegistry::LoadBuiltin() {
  return Load(builtin::SearchParametersJson(), builtin::CompartmentPatientJson(),
              builtin::ResourceTypesTxt());
}

bool SearchParamRegistry::IsResourceType(std::string_view type) const {
  return resource_types_.find(type) != resource_types_.end();
}

const SearchParam* SearchParamRegistry::Find(std::string_view type,
                                             std::string_view name) const {
  auto it = by_type_.find(type);
  if (it == by_type_.end()) {
    return nullptr;
  }
  for (const SearchParam* p : it->second) {
    if (p->name == name) {
      return p;
    }
  }
  return nullptr;
}

const std::vector<const SearchParam*>& SearchParamRegistry::ForType(std::string_view type) const {
  static const std::vector<const SearchParam*> kEmpty;
  auto it = by_type_.find(type);
  return it == by_type_.end() ? kEmpty : it->second;
}

std::vector<std::string> SearchParamRegistry::SearchableTypes() const {
  std::vector<std::string> out;
  for (const auto& [type, params] : by_type_) {
    out.push_back(type);
  }
  return out;
}

const std::vector<std::string>& SearchParamRegistry::PatientCompartmentParams(
    std::string_view type) const {
  static const std::vector<std::string> kEmpty;
  auto it = compartment_.find(type);
  return it == compartment_.end() ? kEmpty : it->second;
}

}  // namespace portico::fhir
