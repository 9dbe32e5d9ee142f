/* libmoert-test-abi-major.so: a table that says ABI 2.0 (a future major).
 * Rejection: ABI major mismatch, naming both versions. */
#include "minimal_table.h"

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-abi-major");
  table.abi_major = 2;
  table.abi_minor = 0;
  return &table;
}
