#!/usr/bin/env bash
# Runs on the device machine: the same bench with the decode/tensor-core
# switch forced either way, to place the threshold (cuda.decode_rows_per_expert).
set -u
C=${CARRY:-.carry/cuda}
OUT=${OUT:-gpu-out}
export MOERT_CUDA_PLUGIN=$C/libmoert-cuda.so
timeout ${T_VAR:-150} "$C/moert-bench-cuda" --no-mxfp4 --tokens 16,64 --reps 10 --label _mma \
  --option cuda.decode_rows_per_expert=0 --out "$OUT/var_mma.jsonl" 2>&1 | tail -8
timeout ${T_VAR:-150} "$C/moert-bench-cuda" --no-mxfp4 --tokens 64,256 --reps 10 --label _gemv \
  --option cuda.decode_rows_per_expert=100000 --out "$OUT/var_gemv.jsonl" 2>&1 | tail -8
