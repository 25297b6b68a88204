#include "src/fhir/search/query_parser.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "src/base/strings.h"

namespace portico::fhir {

namespace {

bool ParsePrefix(std::string_view& v, Prefix& prefix) {
  static const std::pair<std::string_view, Prefix> kPrefixes[] = {
      {"eq", Prefix::kEq}, {"ne", Prefix::kNe}, {"gt", Prefix::kGt}, {"lt", Prefix::kLt},
      {"ge", Prefix::kGe}, {"le", Prefix::kLe}, {"sa", Prefix::kSa}, {"eb", Prefix::kEb},
      {"ap", Prefix::kAp}};
  prefix = Prefix::kEq;
  if (v.size() >= 2) {
    for (const auto& [p, e] : kPrefixes) {
      if (v.substr(0, 2) == p) {
        prefix = e;
        v.remove_prefix(2);
        return true;
      }
    }
  }
  return false;
}

// Splits on unescaped `sep`, keeping escape sequences ("\,", "\|", "\$", "\\") intact so that
// a later split on another separator still sees them.
std::vector<std::string> SplitKeep(std::string_view s, char sep) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out.back().push_back(s[i]);
      out.back().push_back(s[i + 1]);
      ++i;
    } else if (s[i] == sep) {
      out.emplace_back();
    } else {
      out.back().push_back(s[i]);
    }
  }
  return out;
}

// Removes the search escapes of R4 ("\," "\|" "\$" "\\").
std::string Unescape(std::string_view s) { return base::SplitEscaped(s, '\0')[0]; }

bool IsNumber(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  char* end = nullptr;
  std::string str(s);
  std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size() && (std::isdigit(static_cast<unsigned char>(s.back())));
}

// The implicit range of a number given its significant figures: 100 -> [99.5, 100.5).
void NumberRange(std::string_view text, double value, double& low, double& high) {
  std::string_view mantissa = text;
  int exponent = 0;
  size_t e = text.find_first_of("eE");
  if (e != std::string_view::npos) {
    mantissa = text.substr(0, e);
    exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  }
  int decimals = 0;
  size_t dot = mantissa.find('.');
  if (dot != std::string_view::npos) {
    decimals = static_cast<int>(mantissa.size() - dot - 1);
  }
  double half = 0.5 * std::pow(10.0, exponent - decimals);
  low = value - half;
  high = value + half;
}

std::string StripBase(const std::string& raw, const std::string& base_url) {
  if (!base_url.empty() && base::StartsWith(raw, base_url + "/")) {
    return raw.substr(base_url.size() + 1);
  }
  return raw;
}

const std::set<std::string, std::less<>>& KnownResultParams() {
  static const std::set<std::string, std::less<>> kParams = {
      "_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total",
      "_format", "_pretty", "_cursor", "_offset", "_contained", "_containedType"};
  return kParams;
}

}  // namespace

Status ParseValue(ParamType type, const std::string& modifier, const std::string& escaped,
                  const std::string& base_url, SearchValue& out) {
  const std::string raw = Unescape(escaped);
  out.raw = raw;
  switch (type) {
    case ParamType::kToken: {
      if (modifier == "text") {
        out.text = base::NormalizeForSearch(raw);
        return Status::Ok();
      }
      std::vector<std::string> parts = SplitKeep(escaped, '|');
      for (std::string& part : parts) {
        part = Unescape(part);
      }
      if (modifier == "of-type") {
        if (parts.size() != 3) {
          return InvalidArgumentError(":of-type expects system|code|value, got '" + raw + "'");
        }
        out.has_system = true;
        out.system = parts[0];
        out.code = parts[1] + "|" + parts[2];
        return Status::Ok();
      }
      if (parts.size() == 1) {
        out.code = parts[0];
      } else if (parts.size() == 2) {
        out.has_system = true;
        out.system = parts[0];
        out.code = parts[1];
      } else {
        return InvalidArgumentError("invalid token '" + raw + "' (expected [system|]code)");
      }
      if (!out.has_system && out.code.empty()) {
        return InvalidArgumentError("empty token value");
      }
      return Status::Ok();
    }
    case ParamType::kReference: {
      if (modifier == "identifier") {
        return ParseValue(ParamType::kToken, "", escaped, base_url, out);
      }
      if (raw.empty()) {
        return InvalidArgumentError("empty reference value");
      }
      std::string ref = StripBase(raw, base_url);
      if (ref.find("://") != std::string::npos || base::StartsWith(ref, "urn:")) {
        return Status::Ok();  // foreign absolute reference: matched by URL
      }
      if (size_t h = ref.find("/_history/"); h != std::string::npos) {
        ref = ref.substr(0, h);
      }
      size_t slash = ref.find('/');
      if (slash == std::string::npos) {
        out.ref_id = ref;
        if (!modifier.empty() && modifier != "missing" && modifier != "not") {
          out.ref_type = modifier;
        }
      } else {
        out.ref_type = ref.substr(0, slash);
        out.ref_id = ref.substr(slash + 1);
        if (out.ref_id.find('/') != std::string::npos || out.ref_type.empty() ||
            out.ref_id.empty()) {
          return InvalidArgumentError("invalid reference '" + raw + "'");
        }
      }
      return Status::Ok();
    }
    case ParamType::kDate: {
      std::string_view v = raw;
      bool has_prefix = ParsePrefix(v, out.prefix);
      auto range = base::ParseFhirDateRange(v);
      if (!range) {
        if (!has_prefix && raw.size() >= 2 && std::isalpha(static_cast<unsigned char>(raw[0]))) {
          return InvalidArgumentError("unknown prefix '" + raw.substr(0, 2) + "' in date '" + raw +
                                      "' (prefixes: eq ne gt lt ge le sa eb ap)");
        }
        return InvalidArgumentError("invalid date '" + raw +
                                    "' (expected [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|+hh:mm]]]])");
      }
      out.low = range->low;
      out.high = range->high;
      return Status::Ok();
    }
    case ParamType::kNumber:
    case ParamType::kQuantity: {
      std::string_view v = escaped;
      ParsePrefix(v, out.prefix);
      std::vector<std::string> parts = SplitKeep(v, '|');
      for (std::string& part : parts) {
        part = Unescape(part);
      }
      if (parts.empty() || !IsNumber(parts[0]) ||
          (type == ParamType::kNumber && parts.size() != 1) || parts.size() > 3 ||
          parts.size() == 2) {
        return InvalidArgumentError("invalid " +
                                    std::string(type == ParamType::kNumber ? "number" : "quantity") +
                                    " '" + raw + "'");
      }
      out.number = std::strtod(parts[0].c_str(), nullptr);
      NumberRange(parts[0], out.number, out.number_low, out.number_high);
      if (parts.size() == 3) {
        out.unit_system = parts[1];
        out.unit_code = parts[2];
      }
      return Status::Ok();
    }
    case ParamType::kString:
      out.text = base::NormalizeForSearch(raw);
      return Status::Ok();
    case ParamType::kUri:
      return Status::Ok();
    default:
      return InvalidArgumentError("parameter type not searchable");
  }
}

namespace {

bool ModifierAllowed(ParamType type, const std::string& m, const SearchParamRegistry& registry) {
  if (m.empty() || m == "missing") {
    return true;
  }
  switch (type) {
    case ParamType::kToken:
      return m == "not" || m == "text" || m == "of-type";
    case ParamType::kString:
      return m == "exact" || m == "contains";
    case ParamType::kReference:
      return m == "identifier" || registry.IsResourceType(m);
    case ParamType::kUri:
      return m == "below";
    default:
      return false;
  }
}

Status BuildCondition(const SearchParamRegistry& registry, const std::string& type,
                      std::string_view key, const std::string& value,
                      const SearchOptions& options, SearchCondition& c, int depth);

Status BuildCondition(const SearchParamRegistry& registry, const std::string& type,
                      std::string_view key, const std::string& value,
                      const SearchOptions& options, SearchCondition& c, int depth) {
  if (depth > 2) {
    return InvalidArgumentError("chains deeper than one level are not supported");
  }
  // _has:Type:refParam:rest
  if (base::StartsWith(key, "_has:")) {
    std::vector<std::string_view> parts = base::Split(key.substr(5), ':');
    if (parts.size() < 3) {
      return InvalidArgumentError("_has expects _has:Type:reference:parameter");
    }
    std::string has_type(parts[0]);
    const SearchParam* ref = registry.Find(has_type, parts[1]);
    if (!registry.IsResourceType(has_type) || ref == nullptr ||
        ref->type != ParamType::kReference) {
      return InvalidArgumentError("_has: '" + std::string(parts[1]) +
                                  "' is not a reference parameter of " + has_type);
    }
    c.name = std::string(key);
    c.has_type = has_type;
    c.has_ref_param = ref;
    c.chained = std::make_unique<SearchCondition>();
    std::string rest(key.substr(5 + parts[0].size() + 1 + parts[1].size() + 1));
    return BuildCondition(registry, has_type, rest, value, options, *c.chained, depth + 1);
  }
  // Chain: name[:Type].rest
  size_t dot = key.find('.');
  std::string head(dot == std::string_view::npos ? key : key.substr(0, dot));
  std::string modifier;
  if (size_t colon = head.find(':'); colon != std::string::npos) {
    modifier = head.substr(colon + 1);
    head = head.substr(0, colon);
  }
  c.name = head;
  c.modifier = modifier;
  if (head == "_id") {
    c.special = Special::kId;
    c.type = ParamType::kToken;
  } else if (head == "_lastUpdated") {
    c.special = Special::kLastUpdated;
    c.type = ParamType::kDate;
  } else if (head == "_profile") {
    c.special = Special::kProfile;
    c.type = ParamType::kUri;
  } else if (head == "_tag") {
    c.special = Special::kTag;
    c.type = ParamType::kToken;
  } else if (head == "_security") {
    c.special = Special::kSecurity;
    c.type = ParamType::kToken;
  } else {
    c.param = registry.Find(type, head);
    if (c.param == nullptr) {
      // Unknown at the top level: ignorable (lenient mode). Inside a chain or _has the outer
      // parameter narrows the result, so dropping the unknown part would widen it: an error.
      return Status(depth == 0 ? StatusCode::kNotFound : StatusCode::kInvalidArgument,
                    "unknown search parameter '" + head + "' for " + type);
    }
    c.type = c.param->type;
    if (c.type == ParamType::kSpecial) {
      return InvalidArgumentError("search parameter '" + head + "' (" +
                                  std::string(ParamTypeName(c.type)) + ") is not supported");
    }
    if (c.type == ParamType::kComposite) {
      for (const CompositeComponent& comp : c.param->components) {
        const SearchParam* cp = registry.Find(type, comp.param);
        if (cp == nullptr) {
          return InvalidArgumentError("composite '" + head + "' has an unknown component");
        }
        c.components.push_back(cp);
      }
    }
  }
  if (dot != std::string_view::npos) {
    if (c.type != ParamType::kReference || c.param == nullptr) {
      return InvalidArgumentError("'" + head + "' is not a reference parameter and cannot chain");
    }
    std::string target = modifier;
    if (target.empty()) {
      if (c.param->targets.size() == 1) {
        target = c.param->targets[0];
      } else {
        return InvalidArgumentError("chained parameter '" + head +
                                    "' needs a type modifier (e.g. " + head + ":Patient.name)");
      }
    }
    if (!registry.IsResourceType(target)) {
      return InvalidArgumentError("unknown chain target type '" + target + "'");
    }
    c.modifier.clear();
    c.chain_type = target;
    c.chained = std::make_unique<SearchCondition>();
    return BuildCondition(registry, target, key.substr(dot + 1), value, options, *c.chained,
                          depth + 1);
  }
  if (!ModifierAllowed(c.type, modifier, registry)) {
    return InvalidArgumentError("modifier ':" + modifier + "' is not supported on '" + head + "'");
  }
  if (modifier == "missing") {
    if (value != "true" && value != "false") {
      return InvalidArgumentError(":missing expects true or false");
    }
    c.missing = value == "true";
    return Status::Ok();
  }
  for (const std::string& part : SplitKeep(value, ',')) {
    SearchValue v;
    if (c.type == ParamType::kComposite) {
      std::vector<std::string> pieces = SplitKeep(part, '$');
      if (pieces.size() != c.components.size()) {
        return InvalidArgumentError("composite '" + head + "' expects " +
                                    std::to_string(c.components.size()) +
                                    " values separated by '$', got '" + part + "'");
      }
      v.raw = Unescape(part);
      for (size_t i = 0; i < pieces.size(); ++i) {
        SearchValue pv;
        RETURN_IF_ERROR(
            ParseValue(c.components[i]->type, "", pieces[i], options.base_url, pv));
        v.parts.push_back(std::move(pv));
      }
    } else {
      RETURN_IF_ERROR(ParseValue(c.type, modifier, part, options.base_url, v));
    }
    c.values.push_back(std::move(v));
  }
  if (c.values.empty()) {
    return InvalidArgumentError("parameter '" + head + "' has no value");
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeCursor(const PageCursor& c) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = c.backward ? "p" : "n";
  out += std::to_string(c.seq);
  for (const SortValue& v : c.values) {
    out += '~';
    switch (v.kind) {
      case SortValue::Kind::kNull:
        out += 'z';
        break;
      case SortValue::Kind::kInt:
        out += 'i' + std::to_string(v.integer);
        break;
      case SortValue::Kind::kReal: {
        char buf[40];
        std::snprintf(buf, sizeof(buf), "%.17g", v.real);
        out += 'r';
        out += buf;
        break;
      }
      case SortValue::Kind::kText:
        out += 't';
        for (unsigned char ch : v.text) {
          out += kHex[ch >> 4];
          out += kHex[ch & 15];
        }
        break;
    }
  }
  return out;
}

bool DecodeCursor(std::string_view text, size_t keys, PageCursor& out) {
  std::vector<std::string_view> parts = base::Split(text, '~');
  if (parts.empty() || parts[0].size() < 2 || (parts[0][0] != 'n' && parts[0][0] != 'p') ||
      parts.size() != keys + 1) {
    return false;
  }
  PageCursor c;
  c.active = true;
  c.backward = parts[0][0] == 'p';
  auto seq = base::ParseInt(parts[0].substr(1));
  if (!seq || *seq < 0) {
    return false;
  }
  c.seq = *seq;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.empty()) {
      return false;
    }
    SortValue v;
    std::string_view body = p.substr(1);
    switch (p[0]) {
      case 'z':
        if (!body.empty()) {
          return false;
        }
        break;
      case 'i': {
        auto n = base::ParseInt(body);
        if (!n) {
          return false;
        }
        v.kind = SortValue::Kind::kInt;
        v.integer = *n;
        break;
      }
      case 'r': {
        std::string str(body);
        char* end = nullptr;
        v.real = std::strtod(str.c_str(), &end);
        if (str.empty() || end != str.c_str() + str.size()) {
          return false;
        }
        v.kind = SortValue::Kind::kReal;
        break;
      }
      case 't': {
        if (body.size() % 2 != 0) {
          return false;
        }
        v.kind = SortValue::Kind::kText;
        for (size_t j = 0; j < body.size(); j += 2) {
          auto hex = [](char ch) -> int {
            if (ch >= '0' && ch <= '9') return ch - '0';
            if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
            return -1;
          };
          int hi = hex(body[j]);
          int lo = hex(body[j + 1]);
          if (hi < 0 || lo < 0) {
            return false;
          }
          v.text.push_back(static_cast<char>(hi * 16 + lo));
        }
        break;
      }
      default:
        return false;
    }
    c.values.push_back(std::move(v));
  }
  out = std::move(c);
  return true;
}

StatusOr<SearchCondition> ParseCondition(const SearchParamRegistry& registry,
                                         const std::string& type, const std::string& key,
                                         const std::string& value, const SearchOptions& options) {
  SearchCondition c;
  RETURN_IF_ERROR(BuildCondition(registry, type, key, value, options, c, 0));
  return c;
}

StatusOr<ParsedSearch> ParseSearch(const SearchParamRegistry& registry, const std::string& type,
                                   const QueryPairs& pairs, const SearchOptions& options) {
  ParsedSearch out;
  SearchQuery& q = out.query;
  q.type = type;
  q.count = options.default_count;
  std::vector<std::string> canonical;
  auto keep = [&](const std::string& k, const std::string& v) {
    canonical.push_back(base::PercentEncode(k) + "=" + base::PercentEncode(v));
  };
  for (const auto& [key, value] : pairs) {
    if (key == "_count") {
      auto n = base::ParseInt(value);
      if (!n || *n < 0) {
        return InvalidArgumentError("_count must be a non-negative integer");
      }
      q.count = static_cast<int>(std::min<int64_t>(*n, options.max_count));
      if (q.count == 0) {
        q.summary = SummaryMode::kCount;
      }
      keep(key, std::to_string(q.count));
    } else if (key == "_cursor") {
      out.cursor = value;
    } else if (key == "_format" || key == "_pretty") {
      continue;
    } else if (key == "_total") {
      if (value == "none") {
        q.total = TotalMode::kNone;
      } else if (value == "estimate") {
        q.total = TotalMode::kEstimate;
      } else if (value == "accurate") {
        q.total = TotalMode::kAccurate;
      } else {
        return InvalidArgumentError("_total must be none, estimate or accurate");
      }
      keep(key, value);
    } else if (key == "_summary") {
      if (value == "true") {
        q.summary = SummaryMode::kTrue;
      } else if (value == "count") {
        q.summary = SummaryMode::kCount;
      } else if (value == "data") {
        q.summary = SummaryMode::kData;
      } else if (value == "text") {
        q.summary = SummaryMode::kText;
      } else if (value == "false") {
        q.summary = SummaryMode::kFalse;
      } else {
        return InvalidArgumentError("_summary must be true, false, count, data or text");
      }
      keep(key, value);
    } else if (key == "_elements") {
      for (std::string_view e : base::Split(value, ',')) {
        e = base::Trim(e);
        if (!e.empty()) {
          q.elements.emplace_back(e);
        }
      }
      keep(key, value);
    } else if (key == "_sort") {
      for (std::string_view s : base::Split(value, ',')) {
        SortKey k;
        if (!s.empty() && s[0] == '-') {
          k.descending = true;
          s.remove_prefix(1);
        }
        k.name = std::string(s);
        if (k.name != "_id" && k.name != "_lastUpdated") {
          k.param = registry.Find(type, k.name);
          if (k.param == nullptr || k.param->type == ParamType::kComposite) {
            return InvalidArgumentError("cannot sort by '" + k.name + "' on " + type);
          }
        }
        q.sort.push_back(std::move(k));
      }
      keep(key, value);
    } else if (key == "_offset") {
      auto n = base::ParseInt(value);
      if (!n || *n < 0 || *n > 1000000) {
        return InvalidArgumentError("_offset must be a non-negative integer");
      }
      q.offset = static_cast<int>(*n);
      keep(key, std::to_string(q.offset));
    } else if (key == "_include" || key == "_revinclude" || key == "_include:iterate" ||
               key == "_revinclude:iterate" || key == "_include:recurse" ||
               key == "_revinclude:recurse") {
      IncludeSpec inc;
      inc.reverse = base::StartsWith(key, "_revinclude");
      inc.iterate = key.find(':') != std::string::npos;
      std::vector<std::string_view> parts = base::Split(value, ':');
      bool valid = false;
      if (value == "*") {
        inc.source_type = inc.reverse ? "" : type;
        inc.param = "*";
        valid = !inc.reverse;
      } else if (parts.size() >= 2 && parts.size() <= 3) {
        inc.source_type = std::string(parts[0]);
        inc.param = std::string(parts[1]);
        if (parts.size() == 3) {
          inc.target_type = std::string(parts[2]);
        }
        const SearchParam* p = registry.Find(inc.source_type, inc.param);
        valid = registry.IsResourceType(inc.source_type) &&
                (inc.param == "*" || (p != nullptr && p->type == ParamType::kReference)) &&
                (inc.target_type.empty() || registry.IsResourceType(inc.target_type));
        if (valid && !inc.reverse && !inc.iterate && inc.source_type != type) {
          valid = false;
        }
        if (valid && inc.reverse && !inc.iterate && inc.target_type.empty()) {
          inc.target_type = type;
        }
      }
      if (!valid) {
        if (options.strict) {
          return InvalidArgumentError("unsupported " + key + " value '" + value + "'");
        }
        out.ignored.push_back(key + "=" + value);
        continue;
      }
      q.includes.push_back(std::move(inc));
      keep(key, value);
    } else if (KnownResultParams().count(key)) {
      out.ignored.push_back(key);
    } else {
      SearchCondition c;
      Status s = BuildCondition(registry, type, key, value, options, c, 0);
      if (!s.ok()) {
        if (s.code() == StatusCode::kNotFound && !options.strict) {
          out.ignored.push_back(key);
          continue;
        }
        return InvalidArgumentError("search parameter '" + key + "': " + s.message());
      }
      q.conditions.push_back(std::move(c));
      keep(key, value);
    }
  }
  q.canonical = base::Join(canonical, "&");
  return out;
}

}  // namespace portico::fhir
