// A small JSON DOM that keeps numbers as their exact source text, so FHIR decimals such as 1.50
// survive a parse/serialize round trip unchanged (https://hl7.org/fhir/R4/json.html#primitive).
// Objects keep member order. Not thread-safe for mutation; const access may be shared.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/status.h"

namespace portico::json {

class ValueParser;

class Value {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  struct Member;
  using Array = std::vector<Value>;
  using Object = std::vector<Member>;

  Value() = default;
  static Value Null();
  static Value Bool(bool b);
  // REQUIRES: `text` is a valid JSON number.
  static Value NumberText(std::string text);
  static Value Int(int64_t v);
  static Value String(std::string s);
  static Value MakeArray();
  static Value MakeObject();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool bool_value() const { return bool_; }
  // String contents, or the number's source text.
  const std::string& str() const { return str_; }
  const Array& array() const { return array_; }
  Array& array() { return array_; }
  const Object& object() const { return object_; }
  Object& object() { return object_; }

  // Object access; nullptr when absent or not an object.
  const Value* Find(std::string_view key) const;
  Value* Find(std::string_view key);
  // Returns the string member or "" when absent or not a string.
  std::string_view GetString(std::string_view key) const;
  // Replaces an existing member in place or appends a new one.
  Value& Set(std::string_view key, Value v);
  bool Erase(std::string_view key);
  void Push(Value v);

  bool operator==(const Value& other) const;

 private:
  friend class ValueParser;  // builds values in place

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string str_;
  Array array_;
  Object object_;
};

struct Value::Member {
  std::string key;
  Value value;
};

inline Value Value::Null() { return Value(); }
inline void Value::Push(Value v) { array_.push_back(std::move(v)); }

struct ParseOptions {
  int max_depth = 64;
  bool allow_duplicate_keys = false;
};

// Parses one JSON text (RFC 8259). Rejects invalid UTF-8, lone surrogates, trailing data,
// duplicate keys (unless allowed) and nesting deeper than max_depth.
StatusOr<Value> Parse(std::string_view text, const ParseOptions& options = {});

// Minified serialization.
std::string Serialize(const Value& v);
void SerializeTo(const Value& v, std::string& out);
// Appends `s` as a quoted, escaped JSON string.
void AppendQuoted(std::string_view s, std::string& out);
std::string Quote(std::string_view s);

}  // namespace portico::json
