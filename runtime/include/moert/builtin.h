// The core's built-in plugin: it registers the CPU reference runner as
// "default" and the reference experts kernel as "reference". It goes through
// the same C ABI as any .so plugin, so the registry treats all alike.
#pragma once

#include "moert/moert_plugin.h"

extern "C" const moert_plugin_api* moert_builtin_plugin_entry(uint32_t host_abi_major,
                                                              uint32_t host_abi_minor,
                                                              const moert_host_services* services);
