#!/usr/bin/env bash
# Device call: the one-token bulk GEMV2's pairs per warp (MOERT_CUDA_GEMV2_PPW)
# against the one-wave default (0), this build (.carry/final): the bulk and
# one-token tests with 4, then graph and eager µs at one token, alternating,
# twice, for gpt-oss MXFP4 (0 / 3 / 4) and qwen3 (0 / 4), into $OUT/ab.txt.
set -u
C=.carry/final
OUT=${OUT:-gpu-out}
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
MOERT_CUDA_GEMV2_PPW=4 timeout 60 $C/bin/moert_cuda_tests \
  --gtest_filter='*mxfp4*:*FusedDecode*:*Graph*:*bulk*:*NonFinite*' 2>&1 | grep -E "FAILED|PASSED|Failure" | tail -6 | tee $OUT/tests.txt
for i in 1 2; do
  for v in 0 3 4; do
    MOERT_CUDA_GEMV2_PPW=$v timeout 30 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 --tokens 1 --reps 30 \
      --label _ppw2_$v 2>&1 | grep "T=" | tee -a $OUT/ab.txt
  done
  for v in 0 4; do
    MOERT_CUDA_GEMV2_PPW=$v timeout 30 $C/bin/moert-bench-cuda --shapes qwen3 --no-mxfp4 --tokens 1 --reps 30 \
      --label _ppw2_$v 2>&1 | grep "T=" | tee -a $OUT/ab.txt
  done
done
