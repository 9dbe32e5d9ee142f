// Located, typed reads of yaml-cpp nodes (see yaml_reader.h).
#include "yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace moert {
namespace host {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// What the user wrote, for "got ..." in messages.
std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing (null)";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "'" + n.Scalar() + "'";
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string YamlReader::where(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0) return file_;
  return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string YamlReader::where(const YAML::Node& node) const {
  if (!node.IsDefined()) return file_;
  return where(node.Mark());
}

void YamlReader::fail(const YAML::Node& at, const std::string& what) const {
  throw ConfigError(where(at) + ": " + what);
}

void YamlReader::fail(const YAML::Mark& at, const std::string& what) const {
  throw ConfigError(where(at) + ": " + what);
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& what) const {
  if (!node.IsMap()) fail(node, what + " must be a mapping (key: value lines), got " + describe(node));
}

void YamlReader::check_keys(const YAML::Node& map, const std::string& section,
                            const std::vector<std::string>& allowed) const {
  expect_map(map, "'" + section + "'");
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: the iterator hands out a proxy
    if (!key.IsScalar()) fail(key, "keys in '" + section + "' must be plain names, got " + describe(key));
    const std::string& k = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string hint;
      size_t best = 3;  // suggest only close matches
      for (const auto& a : allowed) {
        size_t d = edit_distance(lower(k), a);
        if (d < best) best = d, hint = a;
      }
      fail(key, "key '" + k + "': unknown key in '" + section + "' (" +
                    (hint.empty() ? "" : "did you mean '" + hint + "'? ") +
                    "expected one of: " + join(allowed) + ")");
    }
    if (!seen.insert(k).second) fail(key, "key '" + k + "' appears twice in '" + section + "'");
  }
}

YAML::Node YamlReader::require(const YAML::Node& map, const std::string& key,
                               const std::string& section) const {
  const YAML::Node& cmap = map;
  YAML::Node n = cmap[key];
  if (!n.IsDefined()) fail(map, "'" + section + "' is missing the required key '" + key + "'");
  return n;
}

std::string YamlReader::string(const YAML::Node& n, const std::string& name) const {
  if (!n.IsScalar()) fail(n, name + " must be a string, got " + describe(n));
  return n.Scalar();
}

int64_t YamlReader::integer(const YAML::Node& n, const std::string& name, int64_t min, int64_t max,
                            const char* kind) const {
  if (!n.IsScalar()) fail(n, name + " must be " + kind + ", got " + describe(n));
  const std::string& s = n.Scalar();
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end == s.c_str() || *end != '\0' || errno == ERANGE || v < min || v > max)
    fail(n, name + " must be " + kind + ", got '" + s + "'");
  return v;
}

double YamlReader::number(const YAML::Node& n, const std::string& name) const {
  if (!n.IsScalar()) fail(n, name + " must be a number, got " + describe(n));
  const std::string& s = n.Scalar();
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == s.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    fail(n, name + " must be a finite number, got '" + s + "'");
  return v;
}

bool YamlReader::boolean(const YAML::Node& n, const std::string& name) const {
  if (n.IsScalar()) {
    const std::string s = lower(n.Scalar());
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  fail(n, name + " must be true or false, got " + describe(n));
}

std::string YamlReader::choice(const YAML::Node& n, const std::string& name,
                               const std::vector<std::string>& choices) const {
  if (!n.IsScalar()) fail(n, name + " must be one of " + join(choices) + "; got " + describe(n));
  const std::string& s = n.Scalar();
  if (std::find(choices.begin(), choices.end(), s) == choices.end())
    fail(n, name + " must be one of " + join(choices) + "; got '" + s + "'");
  return s;
}

std::vector<std::string> YamlReader::string_list(const YAML::Node& n, const std::string& name) const {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& item : n) out.push_back(string(item, "each entry of " + name));
  } else {
    fail(n, name + " must be a string or a list of strings, got " + describe(n));
  }
  if (out.empty()) fail(n, name + " must name at least one entry, got an empty list");
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].empty()) fail(n.IsSequence() ? n[i] : n, "entries of " + name + " must not be empty");
  return out;
}

}  // namespace host
}  // namespace moert
