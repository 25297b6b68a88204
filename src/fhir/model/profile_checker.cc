#include "src/fhir/model/profile_checker.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

#include "src/base/strings.h"
#include "src/fhir/search/builtin_data.h"

namespace portico::fhir {

namespace {

using Severity = ValidationIssue::Severity;

struct RawProfile {
  const json::Value* value = nullptr;
  std::string parent;
};

// Strips a "|version" suffix from a canonical URL.
std::string_view Canonical(std::string_view url) {
  size_t bar = url.find('|');
  return bar == std::string_view::npos ? url : url.substr(0, bar);
}

std::string LastSegment(std::string_view url) {
  size_t slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

Status CheckPath(std::string_view path, std::string_view where) {
  if (path.empty()) {
    return InvalidArgumentError(std::string(where) + ": empty path");
  }
  for (std::string_view seg : base::Split(path, '.')) {
    if (seg.empty() || seg == "[x]") {
      return InvalidArgumentError(std::string(where) + ": bad path '" + std::string(path) + "'");
    }
  }
  return Status();
}

// The JSON member `key` of an object denotes element `seg` (a plain name, or a choice "name[x]"
// spelled "name" + TypeName). With `underscore`, matches the "_name" sibling instead.
bool KeyMatches(std::string_view key, std::string_view seg, bool underscore) {
  if (underscore) {
    if (key.empty() || key.front() != '_') {
      return false;
    }
    key.remove_prefix(1);
  }
  if (base::EndsWith(seg, "[x]")) {
    std::string_view stem = seg.substr(0, seg.size() - 3);
    return key.size() > stem.size() && base::StartsWith(key, stem) && key[stem.size()] >= 'A' &&
           key[stem.size()] <= 'Z';
  }
  return key == seg;
}

// A value found by walking a path, with its FHIRPath-like location.
struct Node {
  const json::Value* value;
  std::string path;
};

// The values of element `seg` in `node` (an object), array items one by one.
void Children(const Node& node, std::string_view seg, std::vector<Node>& out) {
  if (!node.value->is_object()) {
    return;
  }
  for (const json::Value::Member& m : node.value->object()) {
    if (!KeyMatches(m.key, seg, false)) {
      continue;
    }
    std::string base_path = node.path + "." + m.key;
    if (m.value.is_array()) {
      for (size_t i = 0; i < m.value.array().size(); ++i) {
        out.push_back({&m.value.array()[i], base_path + "[" + std::to_string(i) + "]"});
      }
    } else {
      out.push_back({&m.value, std::move(base_path)});
    }
  }
}

std::vector<Node> Walk(const Node& root, std::string_view path) {
  std::vector<Node> current{root};
  for (std::string_view seg : base::Split(path, '.')) {
    std::vector<Node> next;
    for (const Node& n : current) {
      Children(n, seg, next);
    }
    current = std::move(next);
    if (current.empty()) {
      break;
    }
  }
  return current;
}

bool IsEmpty(const json::Value& v) {
  return v.is_null() || (v.is_array() && v.array().empty()) ||
         (v.is_object() && v.object().empty()) || (v.is_string() && v.str().empty());
}

// Element `seg` is present in `object`: a value, or (for a primitive) an extension-only "_seg".
bool Present(const json::Value& object, std::string_view seg) {
  if (!object.is_object()) {
    return false;
  }
  for (const json::Value::Member& m : object.object()) {
    if ((KeyMatches(m.key, seg, false) || KeyMatches(m.key, seg, true)) && !IsEmpty(m.value)) {
      return true;
    }
  }
  return false;
}

bool CodingMatches(const json::Value& coding, const ProfileRegistry::ValueSet& vs) {
  if (!coding.is_object()) {
    return false;
  }
  std::string_view system = coding.GetString("system");
  std::string_view code = coding.GetString("code");
  for (const ProfileRegistry::Include& inc : vs.includes) {
    if (!inc.system.empty() && inc.system != system) {
      continue;
    }
    if (inc.codes.empty() ||
        std::find(inc.codes.begin(), inc.codes.end(), code) != inc.codes.end()) {
      return true;
    }
  }
  return false;
}

// A value of a code, Coding or CodeableConcept element is in the value set.
bool ValueMatches(const json::Value& v, const ProfileRegistry::ValueSet& vs) {
  if (v.is_string()) {
    for (const ProfileRegistry::Include& inc : vs.includes) {
      if (std::find(inc.codes.begin(), inc.codes.end(), v.str()) != inc.codes.end()) {
        return true;
      }
    }
    return false;
  }
  if (!v.is_object()) {
    return true;  // not a coded value: the structural validator reports the wrong kind
  }
  if (const json::Value* codings = v.Find("coding"); codings != nullptr) {
    if (codings->is_array()) {
      for (const json::Value& c : codings->array()) {
        if (CodingMatches(c, vs)) {
          return true;
        }
      }
    }
    return false;
  }
  if (v.Find("text") != nullptr && v.Find("code") == nullptr && v.Find("system") == nullptr) {
    return false;  // a CodeableConcept with text only
  }
  return CodingMatches(v, vs);
}

std::string Describe(const ProfileRegistry::ValueSet& vs) {
  std::string out = vs.name;
  std::string codes;
  size_t n = 0;
  for (const ProfileRegistry::Include& inc : vs.includes) {
    if (inc.codes.empty()) {
      codes += (codes.empty() ? "" : ", ") + std::string("any code of ") + inc.system;
      continue;
    }
    for (const std::string& c : inc.codes) {
      if (++n > 12) {
        break;
      }
      codes += (codes.empty() ? "" : ", ") + c;
    }
  }
  if (n > 12) {
    codes += ", ...";
  }
  return out + " (" + codes + ")";
}

std::string DescribeValue(const json::Value& v) {
  if (v.is_string()) {
    return "'" + v.str() + "'";
  }
  const json::Value* codings = v.is_object() ? v.Find("coding") : nullptr;
  if (codings != nullptr && codings->is_array()) {
    std::string out;
    for (const json::Value& c : codings->array()) {
      out += (out.empty() ? "" : ", ") + std::string(c.GetString("system")) + "|" +
             std::string(c.GetString("code"));
    }
    return out.empty() ? "a CodeableConcept without codings" : "codings " + out;
  }
  if (v.is_object() && (v.Find("system") != nullptr || v.Find("code") != nullptr)) {
    return "coding " + std::string(v.GetString("system")) + "|" + std::string(v.GetString("code"));
  }
  return "a value without codings";
}

bool PatternMatches(const json::Value& v, const ProfileRegistry::Pattern& p) {
  if (v.is_string()) {
    return p.system.empty() && v.str() == p.code;
  }
  if (!v.is_object()) {
    return false;
  }
  auto coding_matches = [&p](const json::Value& c) {
    return c.is_object() && c.GetString("code") == p.code &&
           (p.system.empty() || c.GetString("system") == p.system);
  };
  if (const json::Value* codings = v.Find("coding"); codings != nullptr && codings->is_array()) {
    for (const json::Value& c : codings->array()) {
      if (coding_matches(c)) {
        return true;
      }
    }
    return false;
  }
  return coding_matches(v);
}

void Add(std::vector<ValidationIssue>& out, std::set<std::pair<std::string, std::string>>& seen,
         std::string path, std::string message, Severity severity = Severity::kError) {
  if (seen.emplace(path, message).second) {
    out.push_back({std::move(path), std::move(message), severity});
  }
}

void CheckOne(const ProfileRegistry::Profile& profile, const json::Value& resource,
              std::vector<ValidationIssue>& out,
              std::set<std::pair<std::string, std::string>>& seen) {
  const Node root{&resource, std::string(resource.GetString("resourceType"))};
  for (const ProfileRegistry::Required& r : profile.required) {
    std::string_view path = r.path;
    size_t dot = path.rfind('.');
    std::string_view last = dot == std::string_view::npos ? path : path.substr(dot + 1);
    std::vector<Node> parents =
        dot == std::string_view::npos ? std::vector<Node>{root} : Walk(root, path.substr(0, dot));
    for (const Node& parent : parents) {
      if (parent.value->is_object() && !Present(*parent.value, last)) {
        Add(out, seen, parent.path + "." + std::string(last),
            "missing: " + r.from + " requires this element (min 1)");
      }
    }
  }
  for (const ProfileRegistry::Pattern& p : profile.patterns) {
    bool found = false;
    for (const Node& n : Walk(root, p.path)) {
      if (PatternMatches(*n.value, p)) {
        found = true;
        break;
      }
    }
    if (!found) {
      std::string what =
          p.system.empty() ? "the code '" + p.code + "'" : "a coding " + p.system + "|" + p.code;
      Add(out, seen, root.path + "." + p.path, p.from + " requires " + what + " here");
    }
  }
  for (const ProfileRegistry::Binding& b : profile.bindings) {
    for (const Node& n : Walk(root, b.path)) {
      if (!ValueMatches(*n.value, *b.value_set)) {
        Add(out, seen, n.path,
            DescribeValue(*n.value) + " is not in the value set required by " + b.from + ": " +
                Describe(*b.value_set));
      }
    }
  }
}

}  // namespace

StatusOr<std::shared_ptr<const ProfileRegistry>> ProfileRegistry::Load(
    std::string_view profiles_json) {
  auto doc = json::Parse(profiles_json);
  if (!doc.ok()) {
    return InvalidArgumentError("profiles.json: " + doc.status().message());
  }
  auto reg = std::make_shared<ProfileRegistry>();
  std::unordered_map<std::string, const ValueSet*> value_sets;
  const json::Value* sets = doc->Find("valueSets");
  if (sets == nullptr || !sets->is_object()) {
    return InvalidArgumentError("profiles.json: valueSets must be an object");
  }
  for (const json::Value::Member& m : sets->object()) {
    auto vs = std::make_unique<ValueSet>();
    vs->name = m.key;
    if (!m.value.is_array() || m.value.array().empty()) {
      return InvalidArgumentError("profiles.json: value set " + m.key + " must be a list");
    }
    for (const json::Value& inc : m.value.array()) {
      Include include;
      include.system = std::string(inc.GetString("system"));
      if (const json::Value* codes = inc.Find("codes"); codes != nullptr) {
        if (!codes->is_array()) {
          return InvalidArgumentError("profiles.json: value set " + m.key + ": codes");
        }
        for (const json::Value& c : codes->array()) {
          if (!c.is_string() || c.str().empty()) {
            return InvalidArgumentError("profiles.json: value set " + m.key + ": bad code");
          }
          include.codes.push_back(c.str());
        }
      }
      if (include.system.empty() && include.codes.empty()) {
        return InvalidArgumentError("profiles.json: value set " + m.key +
                                    ": an entry needs a system or codes");
      }
      vs->includes.push_back(std::move(include));
    }
    value_sets[m.key] = vs.get();
    reg->value_sets_.push_back(std::move(vs));
  }
  const json::Value* list = doc->Find("profiles");
  if (list == nullptr || !list->is_array()) {
    return InvalidArgumentError("profiles.json: profiles must be a list");
  }
  std::unordered_map<std::string, RawProfile> raw;
  std::vector<std::string> order;
  for (const json::Value& p : list->array()) {
    std::string url(p.GetString("url"));
    if (url.empty() || p.GetString("type").empty()) {
      return InvalidArgumentError("profiles.json: every profile needs a url and a type");
    }
    if (raw.count(url) != 0) {
      return InvalidArgumentError("profiles.json: duplicate profile " + url);
    }
    raw[url] = {&p, std::string(p.GetString("parent"))};
    order.push_back(url);
  }
  // Facts of one profile, its ancestors' first.
  std::function<Status(const std::string&, Profile&, int)> gather =
      [&](const std::string& url, Profile& into, int depth) -> Status {
    if (depth > 8) {
      return InvalidArgumentError("profiles.json: parent chain too long (a cycle?) at " + url);
    }
    auto it = raw.find(url);
    if (it == raw.end()) {
      return InvalidArgumentError("profiles.json: unknown parent profile " + url);
    }
    const json::Value& p = *it->second.value;
    if (!it->second.parent.empty()) {
      Status s = gather(it->second.parent, into, depth + 1);
      if (!s.ok()) {
        return s;
      }
      if (raw[it->second.parent].value->GetString("type") != p.GetString("type")) {
        return InvalidArgumentError("profiles.json: " + url + " and its parent differ in type");
      }
    }
    std::string from = LastSegment(url);
    if (const json::Value* req = p.Find("required"); req != nullptr) {
      for (const json::Value& r : req->is_array() ? req->array() : json::Value::Array{}) {
        Status s = CheckPath(r.is_string() ? r.str() : "", url + " required");
        if (!s.ok()) {
          return s;
        }
        into.required.push_back({r.str(), from});
      }
    }
    if (const json::Value* pats = p.Find("patterns"); pats != nullptr) {
      for (const json::Value& pt : pats->is_array() ? pats->array() : json::Value::Array{}) {
        Pattern pattern{std::string(pt.GetString("path")), std::string(pt.GetString("system")),
                        std::string(pt.GetString("code")), from};
        Status s = CheckPath(pattern.path, url + " patterns");
        if (!s.ok()) {
          return s;
        }
        if (pattern.code.empty()) {
          return InvalidArgumentError("profiles.json: " + url + ": a pattern needs a code");
        }
        into.patterns.push_back(std::move(pattern));
      }
    }
    if (const json::Value* binds = p.Find("bindings"); binds != nullptr) {
      for (const json::Value& b : binds->is_array() ? binds->array() : json::Value::Array{}) {
        Binding binding{std::string(b.GetString("path")), nullptr, from};
        Status s = CheckPath(binding.path, url + " bindings");
        if (!s.ok()) {
          return s;
        }
        auto vs = value_sets.find(std::string(b.GetString("valueSet")));
        if (vs == value_sets.end()) {
          return InvalidArgumentError("profiles.json: " + url + ": unknown value set '" +
                                      std::string(b.GetString("valueSet")) + "'");
        }
        binding.value_set = vs->second;
        into.bindings.push_back(std::move(binding));
      }
    }
    return Status();
  };
  for (const std::string& url : order) {
    auto profile = std::make_unique<Profile>();
    const json::Value& p = *raw[url].value;
    profile->url = url;
    profile->type = std::string(p.GetString("type"));
    profile->ig = std::string(p.GetString("ig"));
    profile->name = LastSegment(url);
    Status s = gather(url, *profile, 0);
    if (!s.ok()) {
      return s;
    }
    reg->by_url_[url] = profile.get();
    reg->profiles_.push_back(std::move(profile));
  }
  return std::shared_ptr<const ProfileRegistry>(std::move(reg));
}

StatusOr<std::shared_ptr<const ProfileRegistry>> ProfileRegistry::LoadBuiltin() {
  static const auto* const kRegistry =
      new StatusOr<std::shared_ptr<const ProfileRegistry>>(Load(builtin::ProfilesJson()));
  return *kRegistry;
}

const ProfileRegistry::Profile* ProfileRegistry::Find(std::string_view url) const {
  auto it = by_url_.find(std::string(Canonical(url)));
  return it == by_url_.end() ? nullptr : it->second;
}

std::vector<ValidationIssue> CheckProfile(const ProfileRegistry::Profile& profile,
                                          const json::Value& resource) {
  std::vector<ValidationIssue> out;
  std::set<std::pair<std::string, std::string>> seen;
  if (resource.is_object()) {
    CheckOne(profile, resource, out, seen);
  }
  return out;
}

std::vector<ValidationIssue> CheckProfiles(const ProfileRegistry& registry,
                                           const json::Value& resource) {
  std::vector<ValidationIssue> out;
  if (!resource.is_object()) {
    return out;
  }
  const json::Value* meta = resource.Find("meta");
  const json::Value* profiles = meta != nullptr ? meta->Find("profile") : nullptr;
  if (profiles == nullptr || !profiles->is_array()) {
    return out;
  }
  std::string type(resource.GetString("resourceType"));
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < profiles->array().size(); ++i) {
    const json::Value& url = profiles->array()[i];
    if (!url.is_string()) {
      continue;
    }
    std::string path = type + ".meta.profile[" + std::to_string(i) + "]";
    const ProfileRegistry::Profile* profile = registry.Find(url.str());
    if (profile == nullptr) {
      Add(out, seen, path,
          "profile " + url.str() + " is not one this server supports; not checked against it",
          Severity::kWarning);
      continue;
    }
    if (profile->type != type) {
      Add(out, seen, path,
          "profile " + profile->name + " is a profile of " + profile->type + ", not of " + type);
      continue;
    }
    CheckOne(*profile, resource, out, seen);
  }
  return out;
}

bool HasErrors(const std::vector<ValidationIssue>& issues) {
  for (const ValidationIssue& i : issues) {
    if (i.severity == ValidationIssue::Severity::kError) {
      return true;
    }
  }
  return false;
}

}  // namespace portico::fhir
