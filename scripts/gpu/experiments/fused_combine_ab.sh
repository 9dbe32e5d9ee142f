#!/usr/bin/env bash
# Runs on the device machine (branch wip/fused-combine, packed by
# scripts/gpu/pack_final.sh): the one-token tests, then the fused kernel's
# combine off / on (MOERT_CUDA_FUSED_COMBINE=0 / 1) at one token for mixtral
# and gpt-oss bf16 (the layers auto fuses), twice, graph replay.
set -u
HERE=$(dirname "$0")/..
. "$HERE/ab_common.sh"
MOERT_CUDA_PLUGIN=$NEW timeout 120 $C/bin/moert_cuda_tests --gtest_filter='*FusedDecode*:*Graph*:*_T1' 2>&1 | grep -E "FAILED|PASSED|Failure" | tail -4
for i in 1 2; do
  for k in 0 1; do
    MOERT_CUDA_FUSED_COMBINE=$k MOERT_CUDA_PLUGIN=$NEW timeout 120 $C/bin/moert-bench-cuda --shapes gptoss,mixtral --tokens 1 \
      --reps 30 --no-mxfp4 --label _fc$k 2>&1 | grep "T="
  done
done
