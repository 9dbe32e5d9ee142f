#!/usr/bin/env bash
# Runs on the device machine: the wgmma kernel's ring bookkeeping (stage and
# round counters stepped instead of divided, descriptors as stage-0 base +
# offset) and its 256-wide column tile for every K, against the previous
# plugin forced to BN 256 ($OLD), same call; then the new plugin with 128-row
# tiles where the rule picks 64 (qwen3 and gpt-oss up to 512 rows per expert).
#   C=.carry/final OLD=.carry/epi/lib/moert/plugins/libmoert-cuda.so scripts/gpu/ring_ab.sh [reps]
set -u
C=${C:-.carry/final}
R=${1:-10}
NEW=$C/lib/moert/plugins/libmoert-cuda.so
export LD_LIBRARY_PATH=$C/lib
MOERT_CUDA_PLUGIN=$NEW timeout 150 $C/bin/moert_cuda_tests --gtest_filter='*wgmma*:*Graph*:*tile*' 2>&1 |
  grep -E "FAILED|PASSED|Failure" | tail -6
bench() {  # label plugin shapes tokens [args...]
  local label=$1 plugin=$2 shapes=$3 tokens=$4; shift 4
  MOERT_CUDA_PLUGIN=$plugin timeout 150 $C/bin/moert-bench-cuda --shapes $shapes --tokens $tokens --reps $R \
    --no-mxfp4 --label _$label "$@" 2>&1 | grep "T="
}
for round in 1 2; do
  MOERT_CUDA_WG_BN=256 bench old $OLD mixtral,qwen3,gptoss 1024,4096,16384
  bench new $NEW mixtral,qwen3,gptoss 1024,4096,16384
done
bench new_tile128 $NEW qwen3,gptoss 1024,4096 --option cuda.mma_tile_rows=128
