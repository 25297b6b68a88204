#include "src/json/json.h"

#include <cstdio>

namespace portico::json {

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

Value Value::NumberText(std::string text) {
  Value v;
  v.kind_ = Kind::kNumber;
  v.str_ = std::move(text);
  return v;
}

Value Value::Int(int64_t i) { return NumberText(std::to_string(i)); }

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.str_ = std::move(s);
  return v;
}

Value Value::MakeArray() {
  Value v;
  v.kind_ = Kind::kArray;
  return v;
}

Value Value::MakeObject() {
  Value v;
  v.kind_ = Kind::kObject;
  return v;
}

const Value* Value::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) {
    return nullptr;
  }
  for (const Member& m : object_) {
    if (m.key == key) {
      return &m.value;
    }
  }
  return nullptr;
}

Value* Value::Find(std::string_view key) {
  if (kind_ != Kind::kObject) {
    return nullptr;
  }
  for (Member& m : object_) {
    if (m.key == key) {
      return &m.value;
    }
  }
  return nullptr;
}

std::string_view Value::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_string()) {
    return {};
  }
  return v->str();
}

Value& Value::Set(std::string_view key, Value v) {
  if (kind_ != Kind::kObject) {
    *this = MakeObject();
  }
  for (Member& m : object_) {
    if (m.key == key) {
      m.value = std::move(v);
      return m.value;
    }
  }
  object_.push_back(Member{std::string(key), std::move(v)});
  return object_.back().value;
}

bool Value::Erase(std::string_view key) {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (it->key == key) {
      object_.erase(it);
      return true;
    }
  }
  return false;
}

bool Value::operator==(const Value& other) const {
  if (kind_ != other.kind_) {
    return false;
  }
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return bool_ == other.bool_;
    case Kind::kNumber:
    case Kind::kString:
      return str_ == other.str_;
    case Kind::kArray:
      return array_ == other.array_;
    case Kind::kObject: {
      if (object_.size() != other.object_.size()) {
        return false;
      }
      for (const Member& m : object_) {
        const Value* o = other.Find(m.key);
        if (o == nullptr || !(*o == m.value)) {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

// Builds each value in place in its parent (a friend of Value): moving a Value moves its three
// containers, and the parser used to move each one twice.
class ValueParser {
 public:
  ValueParser(std::string_view text, const ParseOptions& options) : s_(text), options_(options) {}

  StatusOr<Value> Run() {
    SkipWs();
    Value v;
    RETURN_IF_ERROR(ParseValue(v, 0));
    SkipWs();
    if (pos_ != s_.size()) {
      return Error("unexpected data after the JSON value");
    }
    return v;
  }

 private:
  Status Error(std::string_view what) const {
    return InvalidArgumentError("invalid JSON at offset " + std::to_string(pos_) + ": " +
                                std::string(what));
  }

  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  Status ParseValue(Value& out, int depth) {
    if (depth > options_.max_depth) {
      return Error("nesting deeper than " + std::to_string(options_.max_depth));
    }
    if (pos_ >= s_.size()) {
      return Error("unexpected end of input");
    }
    char c = s_[pos_];
    switch (c) {
      case '{':
        return ParseObject(out, depth);
      case '[':
        return ParseArray(out, depth);
      case '"':
        out.kind_ = Value::Kind::kString;
        return ParseString(out.str_);
      case 't':
        out.bool_ = true;
        return Literal("true", Value::Kind::kBool, out);
      case 'f':
        return Literal("false", Value::Kind::kBool, out);
      case 'n':
        return Literal("null", Value::Kind::kNull, out);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return ParseNumber(out);
        }
        return Error("unexpected character");
    }
  }

  Status Literal(std::string_view word, Value::Kind kind, Value& out) {
    if (s_.substr(pos_, word.size()) != word) {
      return Error("invalid literal");
    }
    pos_ += word.size();
    out.kind_ = kind;
    return Status::Ok();
  }

  Status ParseNumber(Value& out) {
    size_t start = pos_;
    if (s_[pos_] == '-') {
      ++pos_;
    }
    if (pos_ >= s_.size()) {
      return Error("truncated number");
    }
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
      }
    } else {
      return Error("invalid number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      size_t digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
      }
      if (pos_ == digits) {
        return Error("invalid number fraction");
      }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
        ++pos_;
      }
      size_t digits = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
      }
      if (pos_ == digits) {
        return Error("invalid number exponent");
      }
    }
    out.kind_ = Value::Kind::kNumber;
    out.str_.assign(s_.substr(start, pos_ - start));
    return Status::Ok();
  }

  static void AppendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Hex4(uint32_t& cp) {
    if (pos_ + 4 > s_.size()) {
      return false;
    }
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + i];
      cp <<= 4;
      if (c >= '0' && c <= '9') {
        cp |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        cp |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        cp |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    pos_ += 4;
    return true;
  }

  Status ParseString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) {
        return Error("unterminated string");
      }
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::Ok();
      }
      if (c < 0x20) {
        return Error("control character in string");
      }
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) {
          return Error("unterminated escape");
        }
        char e = s_[pos_++];
        switch (e) {
          case '"':
            out.push_back('"');
            break;
          case '\\':
            out.push_back('\\');
            break;
          case '/':
            out.push_back('/');
            break;
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'u': {
            uint32_t cp = 0;
            if (!Hex4(cp)) {
              return Error("invalid \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo = 0;
              if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
                return Error("unpaired surrogate");
              }
              pos_ += 2;
              if (!Hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) {
                return Error("unpaired surrogate");
              }
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return Error("unpaired surrogate");
            }
            AppendUtf8(cp, out);
            break;
          }
          default:
            return Error("invalid escape");
        }
        continue;
      }
      if (c < 0x80) {
        // Copy the whole run of plain ASCII at once.
        size_t end = pos_ + 1;
        while (end < s_.size()) {
          unsigned char d = static_cast<unsigned char>(s_[end]);
          if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') {
            break;
          }
          ++end;
        }
        out.append(s_.data() + pos_, end - pos_);
        pos_ = end;
        continue;
      }
      // Validate one UTF-8 sequence.
      int len = 0;
      uint32_t cp = 0;
      if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
      } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
      } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
      } else {
        return Error("invalid UTF-8");
      }
      if (pos_ + len > s_.size()) {
        return Error("invalid UTF-8");
      }
      for (int i = 1; i < len; ++i) {
        unsigned char cc = static_cast<unsigned char>(s_[pos_ + i]);
        if ((cc & 0xC0) != 0x80) {
          return Error("invalid UTF-8");
        }
        cp = (cp << 6) | (cc & 0x3F);
      }
      if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return Error("invalid UTF-8");
      }
      out.append(s_.substr(pos_, len));
      pos_ += len;
    }
  }

  Status ParseArray(Value& out, int depth) {
    ++pos_;
    out.kind_ = Value::Kind::kArray;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::Ok();
    }
    while (true) {
      SkipWs();
      RETURN_IF_ERROR(ParseValue(out.array_.emplace_back(), depth + 1));
      SkipWs();
      if (pos_ >= s_.size()) {
        return Error("unterminated array");
      }
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or ']'");
    }
  }

  Status ParseObject(Value& out, int depth) {
    ++pos_;
    out.kind_ = Value::Kind::kObject;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::Ok();
    }
    // Most FHIR objects have a few members: one allocation instead of growing 1, 2, 4.
    out.object_.reserve(4);
    while (true) {
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        return Error("expected a member name");
      }
      std::string key;
      RETURN_IF_ERROR(ParseString(key));
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        return Error("expected ':'");
      }
      ++pos_;
      SkipWs();
      if (!options_.allow_duplicate_keys && out.Find(key) != nullptr) {
        return Error("duplicate member \"" + key + "\"");
      }
      Value::Member& member = out.object_.emplace_back();
      member.key = std::move(key);
      RETURN_IF_ERROR(ParseValue(member.value, depth + 1));
      SkipWs();
      if (pos_ >= s_.size()) {
        return Error("unterminated object");
      }
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      return Error("expected ',' or '}'");
    }
  }

  std::string_view s_;
  const ParseOptions& options_;
  size_t pos_ = 0;
};

StatusOr<Value> Parse(std::string_view text, const ParseOptions& options) {
  ValueParser parser(text, options);
  return parser.Run();
}

void AppendQuoted(std::string_view s, std::string& out) {
  static const char* kHex = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the run of characters that need no escape at once (most strings are one run).
    size_t run = i;
    while (run < s.size()) {
      unsigned char d = static_cast<unsigned char>(s[run]);
      if (d < 0x20 || d == '"' || d == '\\') {
        break;
      }
      ++run;
    }
    out.append(s.data() + i, run - i);
    if (run == s.size()) {
      break;
    }
    i = run + 1;
    unsigned char c = static_cast<unsigned char>(s[run]);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:  // the other control characters
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.push_back('"');
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendQuoted(s, out);
  return out;
}

void SerializeTo(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      out.append("null");
      return;
    case Value::Kind::kBool:
      out.append(v.bool_value() ? "true" : "false");
      return;
    case Value::Kind::kNumber:
      out.append(v.str());
      return;
    case Value::Kind::kString:
      AppendQuoted(v.str(), out);
      return;
    case Value::Kind::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : v.array()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        SerializeTo(item, out);
      }
      out.push_back(']');
      return;
    }
    case Value::Kind::kObject: {
      out.push_back('{');
      bool first = true;
      for (const Value::Member& m : v.object()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        AppendQuoted(m.key, out);
        out.push_back(':');
        SerializeTo(m.value, out);
      }
      out.push_back('}');
      return;
    }
  }
}

std::string Serialize(const Value& v) {
  std::string out;
  SerializeTo(v, out);
  return out;
}

}  // namespace portico::json
