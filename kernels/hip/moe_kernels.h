// moe_kernels.h -- host-callable launchers of the HIP MoE kernels, one
// family per .hip file. Plain C++ signatures so that the plugin glue builds
// with g++; every launcher only enqueues on `stream` (no allocation, no sync)
// and returns the launch status.
#pragma once

#include <stdint.h>

#include "hip_portability.h"

namespace moert_hip {

constexpr int kTileM = 32;  // sorted (token, slot) rows per GEMM tile

// routing_topk.hip: scores = softmax|sigmoid(logits) in f32, top-k with ties
// to the lower id, optional renormalize, times scaling. logits_kind: 0 f32,
// 1 bf16, 2 f16. Writes topk_w [T*k] f32 and topk_ids [T*k] (global ids).
hipError_t launch_routing_topk(const void* logits, int logits_kind, int64_t T, int E, int k,
                               int sigmoid, int renormalize, float scaling, float* topk_w,
                               int32_t* topk_ids, hipStream_t stream);

// fp8_token_quant.hip: x_q = e4m3(x / s_t), s_t = max|x_t| / 448 (1 when the row is 0).
hipError_t launch_fp8_per_token_quant(const uint16_t* x_bf16, int64_t T, int64_t H, uint8_t* x_q,
                                      float* x_scale, hipStream_t stream);

// moe_align.hip: maps slot ids to local experts through expert_map (NULL:
// identity over E_local; ids outside [0, map_len) are non-local) and the
// derived 0/1 mask; groups the local slots per expert into tiles of kTileM.
//   slot_local   [T*k]        local expert of each slot or -1
//   sorted_slots [max_tiles*kTileM]  slot index or -1 (padding)
//   tile_expert  [max_tiles]  local expert of each tile or -1 (unused tile)
int64_t moe_max_tiles(int64_t slots, int64_t E_local);
hipError_t launch_moe_align(const int32_t* topk_ids, int64_t slots, const int32_t* expert_map,
                            int64_t map_len, int E_local, int32_t* slot_local, int32_t* sorted_slots,
                            int32_t* tile_expert, int64_t max_tiles, hipStream_t stream);

// mxfp4_gemm.hip: for every tile row p with slot s = sorted_slots[p] >= 0
//   out[s, n] = sum_k A(s)[k] * W[e, n, k] * 2^(S[e*N+n, k/32]-127) (+ bias[e, n])
// W: shuffle_weight(16,16) u8 [E_local, N, K/2]; S: e8m0_shuffle of [E_local*N, K/32].
enum GemmA : int32_t {
  kA_TokenBf16 = 0,  // A(s) = x[s / top_k] bf16 [T, K]
  kA_TokenFp8 = 1,   // A(s) = x_q[s / top_k] e4m3 * x_scale[s / top_k]
  kA_SlotBf16 = 2    // A(s) = a[s] bf16 [T*top_k, K]
};
struct GemmArgs {
  int32_t a_kind;
  const void* a;
  const float* a_scale;
  int32_t top_k;
  const uint8_t* w;
  const uint8_t* w_scale;
  const float* bias;  // [E_local, N] or NULL
  int64_t N, K;
  const int32_t* sorted_slots;
  const int32_t* tile_expert;
  int64_t max_tiles;
  float* out;  // [slots, N] f32
  int32_t narrow_tiles;  // 1: 64-wide N tiles (more blocks for small batches)
};
hipError_t launch_mxfp4_gemm(const GemmArgs& args, hipStream_t stream);

// gated_activation.hip: a[s, j] = bf16(act(h[s, gate_row(j)], h[s, up_row(j)]))
// for local slots. act: 0 silu_and_mul, 3 swigluoai (moert_activation values).
hipError_t launch_gated_activation(const float* h, int64_t slots, int64_t I, int32_t row_mode,
                                   int32_t act, float alpha, float limit, const int32_t* slot_local,
                                   uint16_t* a, hipStream_t stream);

// moe_combine.hip: out[t, :] = bf16(sum_k w[t,k] * y[t*k+k', :]) over local slots.
// topk_w NULL: every weight is 1 (weights already applied on the input).
hipError_t launch_moe_combine(const float* y, const float* topk_w, const int32_t* slot_local,
                              int64_t T, int k, int64_t H, uint16_t* out, hipStream_t stream);

}  // namespace moert_hip
