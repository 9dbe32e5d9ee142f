/* libmoert-test-noentry.so: a valid table behind a misspelled entry point
 * (no "_v1"), so the file has no moert_plugin_entry_v1. Rejection: no entry
 * symbol. */
#include "minimal_table.h"

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry(uint32_t major, uint32_t minor,
                                                               const moert_host_services* s);

MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry(uint32_t major, uint32_t minor,
                                                               const moert_host_services* s) {
  static moert_plugin_api table;
  (void)major; (void)minor; (void)s;
  mt_fill_table(&table, "test-noentry");
  return &table;
}
