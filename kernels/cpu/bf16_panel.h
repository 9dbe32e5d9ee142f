// bf16 expert weights in 16-column panels, for the AVX2 GEMM kernels that
// serve bf16 weights on CPUs where oneDNN 2.6 has no bf16 matmul (every CPU
// without AVX-512: there it refuses to create the primitive).
//
// Layout ("panel16"): an expert matrix W [N, K] (the ABI's [out, in]) is
// stored as ceil(N / 16) panels of 16 columns; panel p is K rows of 16 bf16
// (32 bytes), so a whole panel, and a whole expert, is one sequential stream.
// Inside a row the 16 values are paired so that one 32-bit lane j holds
// column 16p + j in its low half and column 16p + 8 + j in its high half:
// a 16-bit left shift of the lane gives columns 0-7 as f32 and masking the
// low half gives columns 8-15 (no shuffle). Columns past N are zero.
//
// Plain C types only, as in isa_kernels.h (the AVX2 unit includes no C++
// library headers).
#pragma once

#include <stdint.h>

namespace moert_cpu {

constexpr int64_t kPanelCols = 16;

// Bytes of one expert matrix W [N, K] in the panel16 layout.
inline int64_t panel16_bytes(int64_t N, int64_t K) { return (N + kPanelCols - 1) / kPanelCols * K * kPanelCols * 2; }

// out (panel16, panel16_bytes(N, K) bytes) = W [N, K] bf16 row-major, for
// panels [p0, p1). Plain x86-64 (runs in set_weights).
void pack_panel16(const uint16_t* w, int64_t N, int64_t K, int64_t p0, int64_t p1, uint16_t* out);

// y[m * ldy + n] = sum_k x[m * ldx + k] * W[n, k] for m < M and the columns
// n < N of panels [p0, p1): x f32, W bf16 in panel16, f32 accumulation.
// Each panel is streamed once from memory for all M rows (later groups of
// rows re-read it from L2).
typedef void (*Bf16PanelGemmFn)(const float* x, int64_t ldx, int64_t M, const uint16_t* w, int64_t K, int64_t N,
                                int64_t p0, int64_t p1, float* y, int64_t ldy);

// The AVX2 + FMA build; only call it when cpu_has_avx2_baseline().
Bf16PanelGemmFn bf16_panel_gemm_avx2();

}  // namespace moert_cpu
