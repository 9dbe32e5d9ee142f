#!/usr/bin/env bash
# Device call: where the fused one-token kernel's time goes, on this build
# (.carry/final):
#  1. the one-token, fused, bulk, MXFP4 and graph tests (tests.txt, whole);
#  2. graph and eager µs at one token, twice: gpt-oss bf16 and MXFP4, qwen3,
#     mixtral (ab.txt);
#  3. the same forwards with MOERT_CUDA_FUSED_TRACE (plugins/cuda/fused_trace.h):
#     the last replay's per-block stamps summarized (trace.txt), with the
#     fused kernel forced on for qwen3 and gpt-oss MXFP4 as well.
set -u
C=.carry/final
OUT=${OUT:-gpu-out}
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
timeout 170 $C/bin/moert_cuda_tests \
  --gtest_filter='*FusedTrace*:*FusedDecode*:*Graph*:*T1*:*OneToken*:*bulk*:*Bulk*:*mxfp4*:*Mxfp*:*NonFinite*' \
  > $OUT/tests.txt 2>&1
grep -E "^\[  (PASSED|FAILED) |Failure|tests ran" $OUT/tests.txt | tail -12
SHAPES=("gptoss --no-mxfp4" "gptoss --only-mxfp4" "qwen3 --no-mxfp4" "mixtral --no-mxfp4")
for i in 1 2; do
  for s in "${SHAPES[@]}"; do
    timeout 60 $B --shapes $s 2>&1 | grep "T=" | tee -a $OUT/ab.txt
  done
done
for s in "${SHAPES[@]}"; do
  MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt timeout 60 $B --shapes $s --option cuda.fused_gemv=on --label _trace 2>&1 |
    grep "T=" | tee -a $OUT/ab.txt
done
cat $OUT/trace.txt
