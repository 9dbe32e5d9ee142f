#!/usr/bin/env bash
# Device call: one-token A/B of this build (.carry/final, label "new")
# against plugin variants carried in .carry/variants/NAME.so.xz.
#  1. the one-token and bulk-kernel tests (MXFP4, fused decode, graphs,
#     non-finite) on this build and on each variant;
#  2. graph and eager µs at one token, alternating, twice, for gpt-oss
#     MXFP4, gpt-oss bf16, qwen3 and mixtral (ab.txt);
#  3. Nsight Compute duration and instruction counts of gpt-oss MXFP4's two
#     GEMVs per build (ncu.txt); NCU_METRICS=0 skips it. On the H200 steps
#     1-2 took ~330 s for three builds (~01:15 UTC, 2026-12-02) and step 3
#     did not finish inside the call's 450 s.
#   scripts/gpu/experiments/onetok_ab.sh base h16
set -u
HERE=$(dirname "$0")/..
. "$HERE/ncu_common.sh"
. "$HERE/variants_common.sh"
unpack_variants "$@"
for v in $ALL; do
  echo "== tests ($v)" | tee -a $OUT/tests.txt
  MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 150 $C/bin/moert_cuda_tests \
    --gtest_filter='*mxfp4*:*Mxfp*:*FusedDecode*:*Graph*:*NonFinite*:*Bulk*:*bulk*:*T1*:*OneToken*' 2>&1 |
    grep -E "FAILED|PASSED|Failure|tests ran|numerics.*T=1 " | tail -24 | tee -a $OUT/tests.txt
done
echo "== A/B, 1 token" | tee $OUT/ab.txt
for i in 1 2; do
  for v in $ALL; do
    for a in "--shapes gptoss --only-mxfp4" "--shapes gptoss --no-mxfp4" "--shapes qwen3 --no-mxfp4" "--shapes mixtral --no-mxfp4"; do
      MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $C/bin/moert-bench-cuda $a --tokens 1 \
        --reps 30 --label _$v 2>&1 | grep "T=" | tee -a $OUT/ab.txt
    done
  done
done
M=gpu__time_duration.sum,sm__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread
[ "${NCU_METRICS:-1}" = 1 ] || exit 0
for v in $ALL; do
  echo "== ncu metrics ($v)" | tee -a $OUT/ncu.txt
  ncu_mx_gemv_metrics /tmp/variants/$v.so $M | tee -a $OUT/ncu.txt
done
