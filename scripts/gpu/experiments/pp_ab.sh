#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final): the wgmma GEMM's ping-pong consumers (MOERT_CUDA_WG_PP=1,
# 128 x 128 items, one consumer warpgroup each) against the cooperative
# 128 x 256 kernel (=0), one plugin. The knob exists only with
# bench/results/h200-2026-12-03b/wgmma_pingpong.patch applied (not on main).
#   1. the wgmma, graph, tile and expert-map tests with the ping-pong kernel;
#   2. graph µs of both, alternating, $ROUNDS times (default 2);
#   3. Nsight Compute durations of qwen3 4096's two GEMMs with each;
#   4. with PROFILE set, scripts/gpu/kernel_profile.sh qwen3:4096 with each (this run used its predecessor,
#      which lacked the occupancy section).
# Log: $OUT/pp_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/pp_ab.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
ab_knob_tests $L $OUT/pp_tests.log '*Wgmma*:*wgmma*:*Graph*:*tile128*:*expert_map*:*bf16_softmax*:*Mixtral*:*gptoss*' 150 \
  MOERT_CUDA_WG_PP=1
variant() { ab_knob_points "$1" $L "${POINTS:-qwen3:1024,4096,16384 mixtral:1024,4096 gptoss:4096,16384}" "${@:2}"; }
for i in $(seq ${ROUNDS:-2}); do
  variant coop MOERT_CUDA_WG_PP=0
  variant pp MOERT_CUDA_WG_PP=1
done
for pp in 0 1; do
  echo "== qwen3 4096, MOERT_CUDA_WG_PP=$pp: GEMM1, GEMM2 $(ab_at)" >> $L
  ab_wgmma_metrics $L qwen3 4096 gpu__time_duration.sum,lts__t_bytes.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed \
    MOERT_CUDA_WG_PP=$pp
done
if [ -n "${PROFILE:-}" ]; then
  for pp in 0 1; do
    echo "== profile MOERT_CUDA_WG_PP=$pp $(ab_at)" >> $L
    MOERT_CUDA_WG_PP=$pp OUT=$OUT/pp$pp bash scripts/gpu/kernel_profile.sh qwen3:4096 >> $L 2>&1
  done
fi
cat $L
