// Combine: out[t] = sum_k w[t,k] * y[t*top_k+k] over the local slots
// (non-local slots, local id -1, contribute 0), plus the shared expert's
// output times sigmoid(gate . x_t) when a gate is given. Rows [t0, t1).
#pragma once

#include "common.cuh"

namespace moert_cuda {

struct CombineParams {
  const void* y;              // [T*top_k, H] activation dtype, per slot (unweighted)
  const float* weights;       // [T*top_k]
  const int32_t* local_ids;   // [T*top_k]
  int top_k;
  int64_t hidden;
  int64_t t0, t1;
  const void* shared_out;     // [(t1-t0), H] or null
  const void* shared_gate;    // [H] or null
  const void* x;              // [T, H] hidden states (for the gate)
  void* out;                  // [T, H]
};

template <class T>
void launch_combine(const CombineParams& p, cudaStream_t stream);

}  // namespace moert_cuda
