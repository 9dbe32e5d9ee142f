#!/usr/bin/env bash
# Device: the wgmma kernel's tuning knobs (environment, read once) against the
# defaults, same call, at the large-batch points: L2 hints forced on / off,
# rasterization groups of 8 and 32 row tiles; and mixtral at 256 tokens with
# 128-row tiles. No rebuild: the build in $C. (Run 2026-12-01 on the build
# whose defaults were hints on from ~800 rows per expert and 64-row tiles for
# mixtral at 64 rows per expert; both defaults changed after it.)
set -u
R=${1:-10}
. "$(dirname "$0")/ab_common.sh"
P=$NEW
ab_bench default $P mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_HINTS=1 ab_bench hints1 $P mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_HINTS=0 ab_bench hints0 $P mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_GROUP=8 ab_bench group8 $P mixtral,qwen3,gptoss 4096,16384
MOERT_CUDA_WG_GROUP=32 ab_bench group32 $P mixtral,qwen3,gptoss 4096,16384
ab_bench default $P mixtral,qwen3,gptoss 4096,16384
ab_bench default $P mixtral 256
ab_bench tile128 $P mixtral 256 --option cuda.mma_tile_rows=128
