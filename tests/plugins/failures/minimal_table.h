/* A minimal, valid CPU plugin table in C (no runners, no experts) for the
 * failure-mode test plugins: each of them starts from this table and breaks
 * exactly one rule, so that the loader's rejection has exactly one cause.
 * Everything here is static: each .so gets its own copy. */
#ifndef MOERT_TEST_MINIMAL_TABLE_H_
#define MOERT_TEST_MINIMAL_TABLE_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moert/moert_plugin.h"

struct moert_error {
  int32_t code;
  char message[256];
};

static moert_error* mt_make_error(int32_t code, const char* message) {
  moert_error* e = (moert_error*)malloc(sizeof *e);
  if (e == NULL) return NULL; /* out of memory: nothing better to return */
  e->code = code;
  snprintf(e->message, sizeof e->message, "%s", message);
  return e;
}
static int32_t mt_error_code(const moert_error* e) { return e ? e->code : MOERT_STATUS_OK; }
static const char* mt_error_message(const moert_error* e) { return e ? e->message : ""; }
static void mt_error_destroy(moert_error* e) { free(e); }

static int32_t mt_probe_usable(char* reason, size_t capacity) {
  if (reason && capacity) reason[0] = '\0';
  return 1;
}
static moert_error* mt_initialize(const moert_host_services* s) { (void)s; return NULL; }
static moert_error* mt_shutdown(void) { return NULL; }

static const moert_kv mt_attributes_list[] = {{"dtypes", "f32"}, {"toolchain", "cc"}};
static const moert_kv* mt_attributes(size_t* count) {
  if (count) *count = sizeof mt_attributes_list / sizeof mt_attributes_list[0];
  return mt_attributes_list;
}

static moert_error* mt_alloc(int32_t d, size_t bytes, void** out) {
  (void)d;
  *out = malloc(bytes ? bytes : 1);
  return *out ? NULL : mt_make_error(MOERT_STATUS_OUT_OF_MEMORY, "out of host memory");
}
static moert_error* mt_free(int32_t d, void* p) { (void)d; free(p); return NULL; }
static moert_error* mt_copy(int32_t d, void* dst, const void* src, size_t n) {
  (void)d;
  if (n) memcpy(dst, src, n);
  return NULL;
}
static moert_error* mt_stream_create(int32_t d, moert_stream* out) { (void)d; *out = NULL; return NULL; }
static moert_error* mt_stream_other(int32_t d, moert_stream s) { (void)d; (void)s; return NULL; }

/* Fills a complete, valid table named `name`. */
static void mt_fill_table(moert_plugin_api* t, const char* name) {
  memset(t, 0, sizeof *t);
  t->struct_size = sizeof *t;
  t->abi_major = MOERT_ABI_MAJOR;
  t->abi_minor = MOERT_ABI_MINOR;
  t->name = name;
  t->version = "1.0.0";
  t->vendor = "moert tests";
  t->device_type = MOERT_DEVICE_CPU;
  t->probe = mt_probe_usable;
  t->initialize = mt_initialize;
  t->shutdown = mt_shutdown;
  t->error_code = mt_error_code;
  t->error_message = mt_error_message;
  t->error_destroy = mt_error_destroy;
  t->attributes = mt_attributes;
  t->device_alloc = mt_alloc;
  t->device_free = mt_free;
  t->copy_host_to_device = mt_copy;
  t->copy_device_to_host = mt_copy;
  t->stream_create = mt_stream_create;
  t->stream_destroy = mt_stream_other;
  t->stream_synchronize = mt_stream_other;
  t->num_runners = 0;
  t->runners = NULL;
  t->num_experts = 0;
  t->experts = NULL;
}

#endif /* MOERT_TEST_MINIMAL_TABLE_H_ */
