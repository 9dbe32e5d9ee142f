// The ISA-specific inner loops of the CPU backend, as a table of function
// pointers. Each ISA translation unit (isa_kernels_avx2.cpp,
// isa_kernels_avx512.cpp) fills one table; select_isa_kernels() picks one at
// run time from CPUID, never in a static initializer. This header is plain C
// types only, so the ISA units need no C++ library headers (an inline library
// function compiled for AVX-512 could otherwise win the link and run on an
// AVX2-only machine).
#pragma once

#include <stdint.h>

namespace moert_cpu {

// How a weight matrix stored [N, K] row-major (the ABI's [out, in]) encodes
// its values, for the streaming kernels that dequantize on the fly.
enum WeightCode : int32_t {
  kWeightF32 = 0,
  kWeightBF16 = 1,
  kWeightFP8 = 2,    // e4m3 bytes, f32 scale per (row block, k block)
  kWeightMXFP4 = 3,  // e2m1 nibbles, e8m0 scale per 32 k
};

// One expert matrix W [N, K] as stored, plus its scales.
struct RowMajorWeights {
  int32_t code;                  // WeightCode
  int32_t reserved;
  const void* data;              // [N, K] elements (fp4: [N, K/2] bytes)
  int64_t k;                     // K
  // kWeightFP8: scale of row n, k block b = fp8_scale[(n / scale_rows) * scale_row_stride + b]
  // where b = k / scale_k_block (per tensor: scale_rows = N, scale_k_block = K).
  const float* fp8_scale;
  int64_t scale_rows;
  int64_t scale_row_stride;
  int64_t scale_k_block;
  // kWeightMXFP4: e8m0 scale of row n, k block b = mx_scale[n * (K / 32) + b].
  const uint8_t* mx_scale;
};

// y[m * ldy + n] = sum_k x[m * ldx + k] * W[n, k] for rows n in [n0, n1),
// dequantizing W block by block in registers (never a dequantized copy).
// For kWeightMXFP4 x must be in the order prepare_x_mxfp4 produced.
typedef void (*GemvNkFn)(const float* x, int64_t ldx, int64_t M, const RowMajorWeights* w,
                         int64_t n0, int64_t n1, float* y, int64_t ldy);

// Permutes each 32-element block of x [M, K] into the nibble order the MXFP4
// kernel of this ISA reads (even elements live in low nibbles).
typedef void (*PrepareXMxfp4Fn)(const float* x, int64_t ldx, int64_t M, int64_t K, float* out,
                                int64_t ldo);

struct IsaKernels {
  const char* name;  // "avx2", "avx512"
  GemvNkFn gemv_nk;
  PrepareXMxfp4Fn prepare_x_mxfp4;
};

// Filled by the ISA units; only call the one the CPU supports.
const IsaKernels* isa_kernels_avx2();
const IsaKernels* isa_kernels_avx512();

// AVX-512 (F, BW, VL, DQ) when present, else AVX2+FMA+F16C, else NULL.
// Reads CPUID only. `prefer` = "avx2" forces the baseline (tests, options).
const IsaKernels* select_isa_kernels(const char* prefer);

// y [M, N] f32 (row stride ldy) = x [M, K] bf16 (row stride ldx, K even) x
// W [K, N] bf16 row-major (oneDNN's plain "ab"), columns [n0, n1) only
// (n0, n1 and N multiples of 64). The AVX512-BF16 (vdpbf16ps) small-M kernel.
typedef void (*Bf16KnFn)(const uint16_t* x, int64_t ldx, int64_t M, const uint16_t* w, int64_t K, int64_t N,
                         int64_t n0, int64_t n1, float* y, int64_t ldy);
Bf16KnFn bf16_kn_avx512bf16();  // only call what it returns when the CPU has avx512_bf16

// The vdpbf16ps kernel when CPUID reports AVX-512 F/BW/VL/DQ and
// AVX512_BF16 and `prefer` is not "avx2"; else NULL. Reads CPUID only.
Bf16KnFn select_bf16_kn(const char* prefer);

// True when the CPU has the AVX2 baseline (AVX2, FMA, F16C). Runs no AVX code.
bool cpu_has_avx2_baseline();

// AVX-512 F/BW/VL/DQ: what oneDNN 2.6 needs for any bf16 matmul (without it,
// it refuses to create the primitive). CPUID only.
bool cpu_has_avx512_core();
// avx512_core plus AVX512_BF16: oneDNN's bf16 matmul is native there. CPUID only.
bool cpu_has_avx512_bf16();

}  // namespace moert_cpu
