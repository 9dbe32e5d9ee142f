// The workspace layout of CpuMoe (internal): per-forward buffers and the
// per-thread arenas carved from the caller's workspace.
#pragma once

#include "moe_engine.h"

namespace moert_cpu {

struct CpuMoe::Arena {
  float *xe, *h, *a, *xq, *tile, *tile_out;
  uint16_t *xe16, *a16;
};

struct CpuMoe::Buffers {
  float *x32, *out32, *logits, *tw, *route_scratch, *y, *shared;
  int32_t *ids, *order;
  ExpertGroups groups;
  char* arena_base;
  size_t arena_bytes;
  // The owners schedule (panel16, run_experts_owners): x, h and act rows per
  // grouped slot (experts are shared between threads, so their scratch is
  // not one thread's arena) and one cache line of counters per expert.
  float *own_x, *own_h, *own_a;
  int32_t* own_state;
  int64_t own_slots;  // slots the buffers hold (0: schedule unavailable)
  size_t total_bytes;
};

}  // namespace moert_cpu
