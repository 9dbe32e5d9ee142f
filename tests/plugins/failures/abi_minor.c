/* libmoert-test-abi-minor.so: ABI 1.99, a minor newer than any host.
 * Rejection: minor outside the window [MIN_COMPATIBLE_MINOR, host minor]. */
#include "minimal_table.h"

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-abi-minor");
  table.abi_minor = 99;
  return &table;
}
