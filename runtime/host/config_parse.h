// Internal pieces of the config parser, shared by config.cpp (top level) and
// config_layer.cpp (one layer).
#pragma once

#include <string>
#include <vector>

#include "moert/config.h"
#include "yaml_reader.h"

namespace moert {
namespace host {

// A `runner:` value: one name or a list, each a valid RunnerRef.
std::vector<std::string> parse_runner_list(const YamlReader& r, const YAML::Node& n, const std::string& name);

// A `backends:` mapping: backend -> {key: scalar}.
BackendOptions parse_backends(const YamlReader& r, const YAML::Node& n);

// One layer mapping; `top_runner` / `top_backends` are inherited unless the
// layer says otherwise.
ConfigLayer parse_layer(const YamlReader& r, const YAML::Node& n, const std::string& default_name,
                        const std::vector<std::string>& top_runner, const BackendOptions& top_backends);

}  // namespace host
}  // namespace moert
