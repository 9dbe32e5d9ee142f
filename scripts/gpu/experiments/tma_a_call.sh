#!/usr/bin/env bash
# Device call (repo root; a build of main with
# bench/results/h200-2026-12-04/tma_a.patch applied, packed by
# scripts/gpu/pack_final.sh into .carry/final; measured and not kept, see
# docs/cuda-backend.md "Known gaps"): the wgmma GEMM's A tile by TMA where A's rows are contiguous
# (GEMM2's sorted intermediate; the default of this build) against the
# producer's cp.async gather (MOERT_CUDA_WG_TMA_A=0), one plugin.
#  1. graph µs of both, alternating: qwen3 4096 twice each, then qwen3 1024 /
#     16384, mixtral 1024 / 4096 and gpt-oss 4096 / 16384 once each (tma_a_call.txt);
#  2. only when TMA is faster at qwen3 4096: the wgmma, graph, expert-map and
#     shared-expert tests, memcheck on the wgmma cases, and the benchmark half of
#     the headline (scripts/gpu/bench_only_call.sh without its unpaused sweep) into $OUT.
set -u
C=.carry/final
L=$OUT/tma_a_call.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
for i in 1 2; do
  ab_knob_points a0 $L "qwen3:4096" MOERT_CUDA_WG_TMA_A=0
  ab_knob_points a1 $L "qwen3:4096" MOERT_CUDA_WG_TMA_A=1
done
P="qwen3:1024,16384 mixtral:1024,4096 gptoss:4096,16384"
ab_knob_points a0 $L "$P" MOERT_CUDA_WG_TMA_A=0
ab_knob_points a1 $L "$P" MOERT_CUDA_WG_TMA_A=1
ab_means $L
cat $L
ab_then_headline $L qwen3_a0 qwen3_a1 4096 '*wgmma*:*Wgmma*:*GraphCapture*:*expert_map*:*hared*' '*bf16_wgmma_gated_bias*:*wgmma_expert_map*:*wgmma_relu2_expert_map*:*forced_tile128*' 150
