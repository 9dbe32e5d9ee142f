#!/usr/bin/env bash
# Runs on the device machine: the wgmma kernel's ring bookkeeping (stage and
# round counters stepped instead of divided, descriptors as stage-0 base +
# offset) and its 256-wide column tile for every K, against the previous
# plugin forced to BN 256 ($OLD), same call; then the new plugin with 128-row
# tiles where the rule picks 64 (qwen3 and gpt-oss up to 512 rows per expert).
#   C=.carry/final OLD=.carry/epi/lib/moert/plugins/libmoert-cuda.so scripts/gpu/experiments/ring_ab.sh [reps]
set -u
R=${1:-10}
. "$(dirname "$0")/../ab_common.sh"
ab_tests '*wgmma*:*Graph*:*tile*'
for round in 1 2; do
  MOERT_CUDA_WG_BN=256 ab_bench old $OLD mixtral,qwen3,gptoss 1024,4096,16384
  ab_bench new $NEW mixtral,qwen3,gptoss 1024,4096,16384
done
ab_bench new_tile128 $NEW qwen3,gptoss 1024,4096 --option cuda.mma_tile_rows=128
