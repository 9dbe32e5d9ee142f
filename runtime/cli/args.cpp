// Command-line parsing for the subcommands: --name value, --name=value,
// flags, positionals.
#include <cerrno>
#include <cstdlib>

#include "cli.h"

namespace moert {
namespace cli {

std::string Args::value(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return (it == options.end() || it->second.empty()) ? fallback : it->second.back();
}

const std::vector<std::string>& Args::values(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = options.find(name);
  return it == options.end() ? none : it->second;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  if (!has(name)) return fallback;
  const std::string s = value(name);
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE || v < min || v > max)
    throw UsageError("--" + name + " must be an integer in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "], got '" + s + "'");
  return v;
}

Args parse_args(const std::string& command, int argc, char** argv, int first,
                const std::vector<OptionSpec>& options, size_t min_positional, size_t max_positional) {
  Args a;
  a.command = command;
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const auto& o : options)
      if (name == o.name) return &o;
    return nullptr;
  };
  auto known = [&]() {
    std::string s;
    for (const auto& o : options) s += (s.empty() ? "--" : ", --") + std::string(o.name);
    return s.empty() ? std::string("none") : s;
  };
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (only_positional || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (arg.size() > 1 && arg[0] == '-' && !only_positional && arg != "-")
        throw UsageError("unknown option '" + arg + "' (options: " + known() + ")");
      a.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string name = arg.substr(2), val;
    bool inline_value = false;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      val = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    const OptionSpec* spec = find(name);
    if (spec == nullptr) throw UsageError("unknown option '--" + name + "' (options: " + known() + ")");
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc) throw UsageError("option '--" + name + "' needs a value");
      val = argv[++i];
    } else if (!spec->takes_value && inline_value) {
      throw UsageError("option '--" + name + "' takes no value");
    }
    a.options[name].push_back(val);
  }
  if (a.positional.size() < min_positional || a.positional.size() > max_positional) {
    std::string want = min_positional == max_positional ? std::to_string(min_positional)
                                                        : std::to_string(min_positional) + " to " + std::to_string(max_positional);
    throw UsageError("expected " + want + " argument(s), got " + std::to_string(a.positional.size()));
  }
  return a;
}

}  // namespace cli
}  // namespace moert
