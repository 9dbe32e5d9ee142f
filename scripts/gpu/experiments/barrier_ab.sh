#!/usr/bin/env bash
# Device call: the fused one-token kernel's grid barrier (flip bit, this
# build) against the counter-and-generation barrier (variant `trace`, from
# .carry/variants), and the GEMV2 pairs each warp prefetches into L2 before
# the barrier (MOERT_CUDA_FUSED_L2_PAIRS 0 / 1 / 2; the knob was removed after
# this call, ~02:40 UTC 2026-12-02, as slower):
#  1. the one-token, fused and graph tests on this build (tests.txt);
#  2. graph and eager µs at one token, alternating, twice: gpt-oss bf16 and
#     mixtral (ab.txt), then gpt-oss MXFP4 and qwen3 with the fused kernel
#     forced on, once;
#  3. MOERT_CUDA_FUSED_TRACE stamps of gpt-oss bf16 with 0 and 2 (trace.txt).
set -u
HERE=$(dirname "$0")/..
C=.carry/final
OUT=${OUT:-gpu-out}
. "$HERE/variants_common.sh"
unpack_variants trace
export LD_LIBRARY_PATH=$C/lib
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
MOERT_CUDA_PLUGIN=/tmp/variants/new.so timeout 120 $C/bin/moert_cuda_tests \
  --gtest_filter='*FusedTrace*:*FusedDecode*:*Graph*:*T1*:*OneToken*:*FusedGemv*' > $OUT/tests.txt 2>&1
grep -E "^\[  (PASSED|FAILED) |Failure" $OUT/tests.txt | tail -8
for i in 1 2; do
  for s in "gptoss --no-mxfp4" "mixtral --no-mxfp4"; do
    MOERT_CUDA_PLUGIN=/tmp/variants/trace.so timeout 60 $B --shapes $s --label _oldbar 2>&1 | grep "T=" | tee -a $OUT/ab.txt
    for l2 in 0 1 2; do
      [ "$l2" = 1 ] && [ "${s%% *}" = mixtral ] && continue
      MOERT_CUDA_PLUGIN=/tmp/variants/new.so MOERT_CUDA_FUSED_L2_PAIRS=$l2 timeout 60 $B --shapes $s --label _l2_$l2 2>&1 |
        grep "T=" | tee -a $OUT/ab.txt
    done
  done
done
for s in "gptoss --only-mxfp4" "qwen3 --no-mxfp4"; do
  for v in trace new; do
    MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $B --shapes $s --option cuda.fused_gemv=on --label _fused_$v 2>&1 |
      grep "T=" | tee -a $OUT/ab.txt
  done
done
for l2 in 0 2; do
  MOERT_CUDA_PLUGIN=/tmp/variants/new.so MOERT_CUDA_FUSED_L2_PAIRS=$l2 MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt \
    timeout 60 $B --shapes gptoss --no-mxfp4 --label _trace_l2_$l2 2>&1 | grep "T=" | tee -a $OUT/ab.txt
done
cat $OUT/trace.txt
