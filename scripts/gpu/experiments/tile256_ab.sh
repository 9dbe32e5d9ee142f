#!/usr/bin/env bash
# Device call (repo root; a build of main with
# bench/results/h200-2026-12-04/wide_tiles.patch applied, packed by
# scripts/gpu/pack_final.sh into .carry/final; measured and not kept, see
# docs/cuda-backend.md "Known gaps"): the wgmma GEMM's 256-row tiles (256 x 192 where N is a
# multiple of 192, else 256 x 128; MOERT_CUDA_TILE256=1 lets `auto` take them
# from 256 rows per expert) against today's 128 x 256 tiles (=0), one plugin.
#  1. the wgmma, staged-epilogue, graph, tile and expert-map tests (the
#     tile256 cases force the option), then the same with the knob on;
#  2. compute-sanitizer memcheck on the 256-row cases;
#  3. graph µs of both, alternating, $ROUNDS times (default 2), at the points
#     the knob changes (qwen3 4096 / 16384, gpt-oss 16384), then once qwen3 with
#     GEMM2 at 256 x 192 too (MOERT_CUDA_WG_BN256=192, a partial last column tile);
#  4. Nsight Compute of qwen3 4096's two GEMMs with each: time, L2 bytes, SM throughput.
# Log: $OUT/tile256_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/tile256_ab.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
F='*wgmma*:*Wgmma*:*Graph*:*tile*:*expert_map*:*BadDecode*'
ab_knob_tests $L $OUT/tile256_tests.log "$F" 150
ab_knob_tests $L $OUT/tile256_tests_knob.log "$F:*bf16_softmax*:*many_block*" 150 MOERT_CUDA_TILE256=1
cat $L
grep -q "exit 0 " $L || { grep -E "Failure|FAILED" -A6 $OUT/tile256_tests.log | head -60; exit 1; }
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
MOERT_CUDA_PLUGIN=$NEW timeout 120 $SAN --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests \
  --gtest_filter='*wgmma256*:*WgmmaStaged*' > $OUT/memcheck.log 2>&1
echo "memcheck (256-row cases, staged vs direct): exit $? $(grep -E 'ERROR SUMMARY|tests ran' $OUT/memcheck.log | tr '\n' ' ') $(ab_at)" >> $L
P=${POINTS:-qwen3:4096,16384 gptoss:16384}
for i in $(seq ${ROUNDS:-2}); do
  ab_knob_points t128 $L "$P" MOERT_CUDA_TILE256=0
  ab_knob_points t256 $L "$P" MOERT_CUDA_TILE256=1
done
ab_knob_points t256w $L "qwen3:4096,16384" MOERT_CUDA_TILE256=1 MOERT_CUDA_WG_BN256=192
for t in 0 1; do
  echo "== qwen3 4096, MOERT_CUDA_TILE256=$t: GEMM1, GEMM2 $(ab_at)" >> $L
  ab_wgmma_metrics $L qwen3 4096 gpu__time_duration.sum,lts__t_bytes.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_sectors.avg.pct_of_peak_sustained_elapsed \
    MOERT_CUDA_TILE256=$t
done
ab_means $L
cat $L
