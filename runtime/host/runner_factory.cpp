// Registry::create_runner: turning a resolved choice into a moert::Runner.
#include <memory>

#include "moert/chunking.h"
#include "moert/error.h"
#include "moert/modular.h"
#include "moert/registry.h"
#include "moert/runner_instance.h"

namespace moert {

std::unique_ptr<Runner> Registry::create_runner(const RunnerChoice& choice, int64_t tokens,
                                                int32_t device_id) const {
  if (choice.plugin == nullptr || !choice.plugin->loaded())
    throw Error("create_runner: the choice has no loaded plugin (resolve() found nothing?)");
  if (choice.plugin->plugin && choice.plugin->plugin->shut_down)
    throw Error(MOERT_STATUS_FAILED_PRECONDITION, "create_runner: plugin '" + choice.plugin->name() + "' was shut down");
  // A layer whose max_num_tokens was left open is sized to the run.
  LayerSpec layer = layer_for_tokens(choice.layer, tokens);
  std::unique_ptr<Runner> runner;
  if (choice.modular) {
    // The core's pipeline around the plugin's experts kernel, on its device.
    runner = std::make_unique<ModularRunner>(choice.plugin->table, choice.experts, *layer.c_desc(), device_id);
  } else {
    runner = std::make_unique<RunnerInstance>(choice.plugin->table, choice.runner, *layer.c_desc(), device_id);
  }
  if (tokens > layer.desc.max_num_tokens) runner = std::make_unique<ChunkingRunner>(std::move(runner));
  return runner;
}

}  // namespace moert
