// Memory and stream calls on host memory for CPU test plugins.
#pragma once

#include "moert/moert_plugin.hpp"

namespace moert_test_good {

// Sets device_alloc, device_free, the two copies and the three stream calls.
void fill_host_device_calls(moert_plugin_api* table);

}  // namespace moert_test_good
