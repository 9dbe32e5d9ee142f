// moert: the command-line tool. Dispatches to one subcommand and turns every
// error into a message on stderr and an exit code (docs/cli.md):
//   0 ok, 1 runtime error, 2 usage or config error.
#include <cstring>
#include <exception>
#include <iostream>

#include "cli.h"
#include "moert/moert_plugin.h"

namespace {

const char* kUsage =
    "usage: moert <command> [options]\n"
    "\n"
    "commands:\n"
    "  plugins [--plugin-dir D] [--config CONFIG]\n"
    "      table of loaded and rejected plugins, with versions, capabilities and reasons\n"
    "  check CONFIG [--plugin-dir D] [--runner LIST] [--layer NAME]\n"
    "      validate CONFIG and show which runner each layer resolves to, and why\n"
    "  run CONFIG [--tokens N] [--seed S] [--runner LIST] [--layer NAME] [--device ID]\n"
    "             [--plugin-dir D] [--output FILE]\n"
    "      one forward per layer on seeded synthetic (or safetensors) weights and inputs;\n"
    "      prints the runner, an output checksum and the time\n"
    "  bench CONFIG [--tokens 1,16,...] [--reps N] [--warmup N] [--json FILE] [--runner LIST]\n"
    "               [--layer NAME] [--routing uniform|skewed] [--skew S] [--no-graphs] [--device ID]\n"
    "               [--graph-first] [--pause-ms MS]\n"
    "      time the forward over a sweep of token counts; prints a table, writes JSON\n"
    "\n"
    "LIST is a comma-separated runner fallback list, e.g. cuda,cpu,default.\n"
    "See docs/cli.md and docs/config.md.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace moert::cli;
  if (argc < 2) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "moert 0.1.0 (plugin ABI " << MOERT_ABI_MAJOR << "." << MOERT_ABI_MINOR << ", loads plugins of ABI "
              << MOERT_ABI_MAJOR << "." << MOERT_ABI_MIN_COMPATIBLE_MINOR << " to " << MOERT_ABI_MAJOR << "."
              << MOERT_ABI_MINOR << ")\n";
    return kExitOk;
  }
  try {
    if (command == "plugins") return cmd_plugins(argc, argv);
    if (command == "check") return cmd_check(argc, argv);
    if (command == "run") return cmd_run(argc, argv);
    if (command == "bench") return cmd_bench(argc, argv);
    std::cerr << "moert: unknown command '" << command << "'\n\n" << kUsage;
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "moert " << command << ": " << e.what() << "\n(see `moert --help`)\n";
    return kExitUsage;
  } catch (const moert::ConfigError& e) {
    std::cerr << "moert " << command << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "moert " << command << ": error: " << e.what() << "\n";
    return kExitRuntime;
  } catch (...) {
    std::cerr << "moert " << command << ": error: unknown exception\n";
    return kExitRuntime;
  }
}
