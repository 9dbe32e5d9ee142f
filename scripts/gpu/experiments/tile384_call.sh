#!/usr/bin/env bash
# Device call (repo root; a build of main with
# bench/results/h200-2026-12-04/wide_tiles.patch applied, packed by
# scripts/gpu/pack_final.sh into .carry/final; measured and not kept,
# docs/cuda-backend.md "Known gaps"), in which GEMM1 takes the 128 x 384 wgmma tile where N is a
# multiple of 384; MOERT_CUDA_WG_BN=256 gives the 128 x 256 tile back):
#  1. graph µs of both, alternating: qwen3 4096 twice each, then qwen3 1024 /
#     16384 and gpt-oss 4096 / 16384 once each (tile384_call.txt);
#  2. only when 384 is faster at qwen3 4096: the wgmma and graph tests, memcheck
#     on the 384 cases, and the benchmark half of the headline
#     (scripts/gpu/bench_only_call.sh without its unpaused sweep) into $OUT.
set -u
C=.carry/final
L=$OUT/tile384_call.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
for i in 1 2; do
  ab_knob_points n256 $L "qwen3:4096" MOERT_CUDA_WG_BN=256
  ab_knob_points n384 $L "qwen3:4096" MOERT_CUDA_WG_BN=0
done
ab_knob_points n256 $L "qwen3:1024,16384 gptoss:4096,16384" MOERT_CUDA_WG_BN=256
ab_knob_points n384 $L "qwen3:1024,16384 gptoss:4096,16384" MOERT_CUDA_WG_BN=0
ab_means $L
cat $L
ab_then_headline $L qwen3_n256 qwen3_n384 4096 '*wgmma*:*Wgmma*:*GraphCapture*' '*wgmma384*:*wgmma_gated_bias*' 130
