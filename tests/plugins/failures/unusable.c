/* libmoert-test-unusable.so: a valid table whose probe says the machine
 * lacks its device. Rejection: probe not usable, with the probe's reason;
 * moert-conformance skips every test with that reason and exits 0. */
#include "minimal_table.h"

static int32_t probe_no_device(char* reason, size_t capacity) {
  if (reason && capacity) snprintf(reason, capacity, "no FooAccelerator device found");
  return 0;
}

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-unusable");
  table.probe = probe_no_device;
  return &table;
}
