// The activation epilogue of an expert's first GEMM: adds the w13 bias,
// applies the (gated) activation and rounds the result to the activation
// dtype, as GPU kernels do before the second GEMM.
#pragma once

#include <cstdint>

namespace moert_cpu {

struct ActivationParams {
  int32_t activation;    // moert_activation
  int32_t interleaved;   // gate/up rows interleaved (gpt-oss) instead of concatenated
  int64_t inter;         // I: output columns
  float swiglu_alpha;
  float swiglu_limit;
  int32_t round_bf16;    // 1: round outputs to bf16 (activation dtype bf16)
};

bool activation_is_gated(int32_t activation);

// h [M, R] (row stride ldh), bias [R] or NULL -> a [M, I] (row stride lda),
// for columns i in [i0, i1).
// silu-and-mul with concatenated gate/up goes through silu_and_mul_avx2
// (every CPU this plugin runs on has AVX2 + FMA: probe() refuses others).
void apply_activation(const ActivationParams& p, const float* h, int64_t ldh, const float* bias,
                      int64_t M, int64_t i0, int64_t i1, float* a, int64_t lda);

// The AVX2 + FMA silu-and-mul epilogue (activation_avx2.cpp): gate columns
// [i0, i1) of h, up columns inter + [i0, i1), bias [2 * inter] or NULL;
// `round`: round the results to bf16.
void silu_and_mul_avx2(const float* h, int64_t ldh, int64_t inter, const float* bias, int64_t M, int64_t i0,
                       int64_t i1, float* a, int64_t lda, int32_t round);

}  // namespace moert_cpu
