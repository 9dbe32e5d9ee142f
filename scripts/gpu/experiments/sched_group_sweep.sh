#!/usr/bin/env bash
# Device call (repo root, this build packed into .carry/final): with the
# wgmma GEMM's work items from the counter (the default), the rasterization
# group (MOERT_CUDA_WG_GROUP row tiles) swept at the large points, alternating,
# $ROUNDS times (default 2); graph and eager µs into $OUT/group_sweep.txt.
set -u
C=.carry/final
L=$OUT/group_sweep.txt
R=10
. scripts/gpu/ab_common.sh
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)" > $L
variant() { ab_knob_points "$1" $L "qwen3:4096,16384 gptoss:4096,16384 mixtral:1024" "${@:2}"; }  # variant LABEL ENV...
for i in $(seq ${ROUNDS:-2}); do
  for g in 4 8 16; do variant g$g MOERT_CUDA_WG_GROUP=$g; done
  variant g8_h2 MOERT_CUDA_WG_GROUP=8 MOERT_CUDA_WG_HINTS=2
done
cat $L
