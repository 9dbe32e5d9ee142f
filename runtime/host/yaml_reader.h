// Typed, located access to yaml-cpp nodes for the config parser. Every
// failure throws ConfigError "<file>:<line>:<col>: <what>", with the
// position of the offending key or value (yaml-cpp marks are 0-based; we
// print 1-based like compilers do).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "moert/config.h"

namespace moert {
namespace host {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  // "<file>:<line>:<col>" of a node (the file alone when yaml-cpp has no mark).
  std::string where(const YAML::Node& node) const;
  std::string where(const YAML::Mark& mark) const;
  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const;
  [[noreturn]] void fail(const YAML::Mark& at, const std::string& what) const;

  // `node` must be a mapping (`what` names it, e.g. "'layer'"). Every key
  // must be a scalar in `allowed`, and appear once. Unknown keys fail with
  // "key 'topk': unknown key in 'layer' (did you mean 'top_k'? expected one
  // of: ...)".
  void expect_map(const YAML::Node& node, const std::string& what) const;
  void check_keys(const YAML::Node& map, const std::string& section,
                  const std::vector<std::string>& allowed) const;
  // A required key; fails at the mapping's position when it is missing.
  YAML::Node require(const YAML::Node& map, const std::string& key, const std::string& section) const;

  // Scalars. `name` is how messages call the value (e.g. "'experts'").
  std::string string(const YAML::Node& n, const std::string& name) const;
  int64_t integer(const YAML::Node& n, const std::string& name, int64_t min, int64_t max,
                  const char* kind /* "a positive integer" */) const;
  double number(const YAML::Node& n, const std::string& name) const;
  bool boolean(const YAML::Node& n, const std::string& name) const;
  // One of `choices`: "'scoring' must be one of softmax, sigmoid; got 'sofmax'".
  std::string choice(const YAML::Node& n, const std::string& name,
                     const std::vector<std::string>& choices) const;
  // A string or a sequence of strings (at least one).
  std::vector<std::string> string_list(const YAML::Node& n, const std::string& name) const;

 private:
  std::string file_;
};

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace host
}  // namespace moert
