#!/usr/bin/env bash
# Device, short: the one-token tests with GEMV2's combine on (the default),
# then off / on at one token: qwen3 two rounds, gpt-oss MXFP4 one, graph replay.
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
timeout 60 $C/bin/moert_cuda_tests --gtest_filter='*FusedDecode*:*Graph*:*_T1' 2>&1 | grep -E "PASSED|FAILED" | tail -3
for round in 1 2; do
  for k in 0 1; do
    MOERT_CUDA_GEMV2_COMBINE=$k timeout 30 $C/bin/moert-bench-cuda --shapes qwen3 --tokens 1 --reps 30 --no-mxfp4 --label _c$k 2>&1 | grep "T="
  done
done
for k in 0 1; do
  MOERT_CUDA_GEMV2_COMBINE=$k timeout 30 $C/bin/moert-bench-cuda --shapes gptoss --tokens 1 --reps 30 --only-mxfp4 --label _c$k 2>&1 | grep "T="
done
