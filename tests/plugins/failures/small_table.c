/* libmoert-test-small-table.so: a table whose struct_size (16) does not even
 * cover the 1.0 fields. Rejection: struct too small. */
#include "minimal_table.h"

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-small-table");
  table.struct_size = 16;
  return &table;
}
