#!/usr/bin/env bash
# Runs on the device machine: the GEMM epilogues specialized per kind
# (kernels/cuda/fragment_epilogue.cuh) against the plugin before it, same call.
# $C: packed new build (scripts/gpu/pack_final.sh); $OLD: the old
# libmoert-cuda.so. Checks the wgmma and graph tests on the new plugin, then
# times the large-batch points with each plugin, then the new one with
# 128 x 256 tiles for K < 4096 (MOERT_CUDA_WG_BN=256) and with 128-row tiles.
#   C=.carry/final OLD=.carry/next/lib/moert/plugins/libmoert-cuda.so scripts/gpu/experiments/epilogue_ab.sh [reps]
set -u
R=${1:-10}
. "$(dirname "$0")/../ab_common.sh"
ab_tests '*wgmma*:*Graph*:*tile*'
for round in 1 2; do
  ab_bench old $OLD mixtral,qwen3,gptoss 256,1024,4096,16384
  ab_bench new $NEW mixtral,qwen3,gptoss 256,1024,4096,16384
done
MOERT_CUDA_WG_BN=256 ab_bench new_bn256 $NEW qwen3,gptoss 1024,4096,16384
MOERT_CUDA_WGMMA64=0 ab_bench new_wg64off $NEW mixtral,qwen3,gptoss 256,1024
