#!/usr/bin/env bash
# Device call (repo root; a build of main with
# bench/results/h200-2026-12-04/wide_tiles.patch applied and MOERT_CUDA_TILE256's
# default set to 1 in cuda_runner.cpp, packed by scripts/gpu/pack_final.sh into
# .carry/final; measured and not kept, docs/cuda-backend.md "Known gaps"), in
# which `auto` takes the 256-row wgmma tiles from 256 rows per expert;
# MOERT_CUDA_TILE256=0 gives the 128-row tiles back:
#  1. graph µs with and without them, alternating: qwen3 4096 twice each, qwen3
#     16384 and gpt-oss 16384 once each (tile256_call.txt);
#  2. only when they are faster at qwen3 4096: the 256-row, staged-epilogue and
#     graph tests, memcheck on the 256-row cases, and the benchmark half of the
#     headline (scripts/gpu/bench_only_call.sh without its unpaused sweep) into $OUT.
set -u
C=.carry/final
L=$OUT/tile256_call.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
for i in 1 2; do
  ab_knob_points t128 $L "qwen3:4096" MOERT_CUDA_TILE256=0
  ab_knob_points t256 $L "qwen3:4096" MOERT_CUDA_TILE256=1
done
ab_knob_points t128 $L "qwen3:16384 gptoss:16384" MOERT_CUDA_TILE256=0
ab_knob_points t256 $L "qwen3:16384 gptoss:16384" MOERT_CUDA_TILE256=1
ab_means $L
cat $L
ab_then_headline $L qwen3_t128 qwen3_t256 4096 '*wgmma256*:*WgmmaStaged*:*GraphCapture*' '*wgmma256*' 120
