// A small JSON value, parser and writer: enough for safetensors headers and
// benchmark reports, with no dependency. Numbers keep their source text so
// that 64-bit integers (tensor offsets) are read exactly.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moert {
namespace json {

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;
  static Value null() { return Value(); }
  static Value boolean(bool b);
  static Value number(double d);      // written with 17 significant digits; NaN/inf as null
  static Value integer(int64_t i);
  static Value string(std::string s);
  static Value array();
  static Value object();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  static const char* type_name(Type t);

  bool as_bool() const { return bool_; }
  double as_double() const;
  // True and *out set when the number is an integer that fits in int64.
  bool as_int64(int64_t* out) const;
  const std::string& as_string() const { return text_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }

  // Arrays / objects (insertion order kept; set() replaces an existing key).
  Value& push(Value v);
  Value& set(const std::string& key, Value v);
  const Value* find(const std::string& key) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;  // string value, or the number's text
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
  friend class Parser;
};

// Parses a whole document; throws moert::Error "JSON error at byte N: ..."
// (the caller prefixes the file name). Duplicate object keys are an error.
Value parse(const std::string& text);

// Compact text when indent < 0, else pretty with `indent` spaces.
std::string write(const Value& v, int indent = -1);
std::string quote(const std::string& s);

}  // namespace json
}  // namespace moert
