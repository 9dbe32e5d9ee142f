#!/usr/bin/env bash
# Runs on the device machine with a packed build in $C: the one-token bulk
# decode GEMV's knobs against the defaults, same call, graph replay (gpt-oss
# MXFP4, qwen3, gpt-oss bf16): ring bytes per warp (MOERT_CUDA_BULK_RING,
# default 6 KB) and pairs per warp (option cuda.gemv_pairs_per_warp, default
# one wave). Defaults first and last, to see the drift.
#   scripts/gpu/experiments/decode_sweep.sh [reps]
set -u
C=${C:-.carry/final}
R=${1:-20}
export LD_LIBRARY_PATH=$C/lib:${LD_LIBRARY_PATH:-} MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
b() {  # label [args]
  local label=$1; shift
  timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --tokens 1 --reps $R --only-mxfp4 --label "_$label" "$@" 2>&1 | grep -E "T=|rror"
  timeout 60 $C/bin/moert-bench-cuda --shapes qwen3,gptoss --tokens 1 --reps $R --no-mxfp4 --label "_$label" "$@" 2>&1 | grep -E "T=|rror"
}
b default
MOERT_CUDA_BULK_RING=12288 b ring12k
MOERT_CUDA_BULK_RING=24576 b ring24k
MOERT_CUDA_BULK_RING=49152 b ring48k
b ppw2 --option cuda.gemv_pairs_per_warp=2
b default
