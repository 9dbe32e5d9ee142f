/* Negative control for the test-v1_0 guard page: reads ONE byte past the
 * table's struct_size and must die with SIGSEGV. If it survives, the guard
 * page is not armed and "conformance.test-v1_0 passed" would prove nothing. */
#include <dlfcn.h>
#include <stdio.h>

#include "moert/moert_plugin.h"

int main(int argc, char** argv) {
  void* lib;
  moert_plugin_entry_fn entry;
  const moert_plugin_api* api;
  if (argc != 2) return 2;
  lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) { fprintf(stderr, "%s\n", dlerror()); return 2; }
  *(void**)(&entry) = dlsym(lib, MOERT_PLUGIN_ENTRY_SYMBOL);
  if (entry == NULL) return 2;
  api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, NULL);
  if (api == NULL) return 2;
  printf("table struct_size %zu; reading the byte after it\n", api->struct_size);
  fflush(stdout);
  printf("read %d: the guard page is NOT armed\n", ((const volatile char*)api)[api->struct_size]);
  return 0;
}
