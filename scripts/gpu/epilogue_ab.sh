#!/usr/bin/env bash
# Runs on the device machine: the GEMM epilogues specialized per kind
# (kernels/cuda/fragment_epilogue.cuh) against the plugin before it, same call.
# $C: packed new build (scripts/gpu/pack_final.sh); $OLD: the old
# libmoert-cuda.so. Checks the wgmma and graph tests on the new plugin, then
# times the large-batch points with each plugin, then the new one with
# 128 x 256 tiles for K < 4096 (MOERT_CUDA_WG_BN=256) and with 128-row tiles.
#   C=.carry/final OLD=.carry/next/lib/moert/plugins/libmoert-cuda.so scripts/gpu/epilogue_ab.sh [reps]
set -u
C=${C:-.carry/final}
R=${1:-10}
NEW=$C/lib/moert/plugins/libmoert-cuda.so
export LD_LIBRARY_PATH=$C/lib
MOERT_CUDA_PLUGIN=$NEW timeout 150 $C/bin/moert_cuda_tests --gtest_filter='*wgmma*:*Graph*:*tile*' 2>&1 |
  grep -E "numerics|FAILED|PASSED|Failure" | tail -14
bench() {  # label plugin shapes tokens [env...]
  local label=$1 plugin=$2 shapes=$3 tokens=$4; shift 4
  env MOERT_CUDA_PLUGIN=$plugin "$@" timeout 150 $C/bin/moert-bench-cuda --shapes $shapes --tokens $tokens --reps $R \
    --no-mxfp4 --label _$label 2>&1 | grep "T="
}
for round in 1 2; do
  bench old $OLD mixtral,qwen3,gptoss 256,1024,4096,16384
  bench new $NEW mixtral,qwen3,gptoss 256,1024,4096,16384
done
bench new_bn256 $NEW qwen3,gptoss 1024,4096,16384 MOERT_CUDA_WG_BN=256
bench new_wg64off $NEW mixtral,qwen3,gptoss 256,1024 MOERT_CUDA_WGMMA64=0
