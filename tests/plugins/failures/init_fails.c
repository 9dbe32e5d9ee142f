/* libmoert-test-init-fails.so: probe says usable, initialize() returns an
 * error. Rejection: init failed, with the plugin's message. */
#include "minimal_table.h"

static moert_error* initialize_fails(const moert_host_services* services) {
  (void)services;
  return mt_make_error(MOERT_STATUS_UNAVAILABLE,
                       "FooAccelerator firmware foo-fw-3.bin not found in /lib/firmware");
}

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-init-fails");
  table.initialize = initialize_fails;
  return &table;
}
