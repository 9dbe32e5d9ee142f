#!/usr/bin/env bash
# Device: the wgmma kernel's tuning knobs (environment, read once) against the
# defaults, same call, at the large-batch points: L2 hints forced on / off,
# rasterization groups of 8 and 32 row tiles; and mixtral at 256 tokens with
# 128-row tiles. No rebuild: the shipped build in $C.
set -u
C=${C:-.carry/final}
R=${1:-10}
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
b() { local label=$1 shapes=$2 tokens=$3; shift 3
  timeout 120 $C/bin/moert-bench-cuda --shapes $shapes --tokens $tokens --reps $R --no-mxfp4 --label _$label "$@" 2>&1 | grep "T="; }
b default mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_HINTS=1 b hints1 mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_HINTS=0 b hints0 mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_GROUP=8 b group8 mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_GROUP=32 b group32 mixtral,qwen3,gptoss 4096,16384
b default mixtral,qwen3,gptoss 4096,16384
b default mixtral 256
b tile128 mixtral 256 --option cuda.mma_tile_rows=128
