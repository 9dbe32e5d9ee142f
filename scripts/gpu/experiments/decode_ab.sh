#!/usr/bin/env bash
# Runs on the device machine, after the packed build is in $C: the one-token
# decode options against each other in one call (moert-bench-cuda, medians of
# graph replays and eager forwards), defaults first:
#   default | cuda.fused_decode=off | cuda.l2_prefetch=off | L2 prefetch share 50%
#   scripts/gpu/experiments/decode_ab.sh [reps]
set -u
C=${C:-.carry/final}
export MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
B=$C/bin/moert-bench-cuda
R=${1:-300}
timeout 60 $B --tokens 1 --reps $R --label _default 2>&1 | grep "T="
timeout 60 $B --tokens 1 --reps $R --option cuda.fused_decode=off --label _unfused 2>&1 | grep "T="
timeout 60 $B --tokens 1 --reps $R --option cuda.l2_prefetch=off --label _no_l2_prefetch 2>&1 | grep "T="
MOERT_CUDA_L2_PREFETCH_PCT=50 timeout 60 $B --tokens 1 --reps $R --label _l2_pct50 2>&1 | grep "T="
