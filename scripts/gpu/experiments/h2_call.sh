#!/usr/bin/env bash
# Device call for the f16x2 MXFP4 one-token decode (gemv_mx_half2.cuh):
#  1. gate: the MXFP4, fused-decode, graph and non-finite tests on this build
#     (.carry/final); on a failure it stops after printing them;
#  2. the headline (final_call.sh: bench + peer + all tests + conformance +
#     memcheck, its 8 files into $OUT);
#  3. on stdout: gpt-oss MXFP4 at 1 token, graph and eager µs, this build
#     ("h2") against .carry/variants/base.so.xz (main before it) and
#     nobr.so.xz (main with the MR = 1 branch removal only), alternating,
#     twice; then Nsight Compute duration and instruction counts of this
#     build's two GEMVs (a later forward, caches kept).
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib
NEW=$C/lib/moert/plugins/libmoert-cuda.so
mkdir -p /tmp/variants
for v in base nobr; do xz -dc .carry/variants/$v.so.xz > /tmp/variants/$v.so; done
cp $NEW /tmp/variants/h2.so
GATE=$(MOERT_CUDA_PLUGIN=$NEW timeout 120 $C/bin/moert_cuda_tests --gtest_filter='*mxfp4*:*FusedDecode*:*Graph*:*NonFinite*' 2>&1)
echo "$GATE" | grep -E "numerics.*T=1 |FAILED|PASSED|Failure" | tail -24
if ! echo "$GATE" | grep -q "PASSED"  || echo "$GATE" | grep -q "FAILED"; then echo "gate failed: no headline"; fi
echo "$GATE" | grep -q "FAILED" || bash "$(dirname "$0")/../final_call.sh"
echo "== A/B: gpt-oss MXFP4, 1 token"
for i in 1 2; do
  for v in base nobr h2; do
    MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 --tokens 1 \
      --reps 30 --label _$v 2>&1 | grep "T="
  done
done
. "$(dirname "$0")/../ncu_common.sh"
M=gpu__time_duration.sum,sm__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__warps_active.avg.per_cycle_active
for v in h2 base; do
  echo "== ncu ($v): GEMV1, GEMV2 of a later forward"
  ncu_mx_gemv_metrics /tmp/variants/$v.so $M
done
