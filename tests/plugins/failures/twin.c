/* libmoert-test-twin.so: a valid plugin that calls itself "test-good",
 * the name of libmoert-test-good.so. Loaded alone it is fine; next to
 * test-good the registry rejects one of them as a duplicate name and names
 * both files. */
#include "minimal_table.h"

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                  const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-good");

  return &table;
}
