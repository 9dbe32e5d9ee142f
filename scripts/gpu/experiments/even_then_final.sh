#!/usr/bin/env bash
# Device call: a short one-token A/B of gpt-oss MXFP4 (two kernels, the
# default; the fused kernel with runs of ppw; the fused kernel with the even
# split, MOERT_CUDA_FUSED_EVEN=1), twice, graph µs; then
# scripts/gpu/final_call.sh (the headline) with the rest of CALL_S (default
# 560) seconds. final_call.sh fills $OUT's 8 files, so the A/B prints at the end.
set -u
HERE=$(dirname "$0")/..
C=.carry/final
T00=$(date +%s)
AB=/tmp/ab.txt
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30 --shapes gptoss --only-mxfp4"
run() { echo "$(LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so timeout 40 $B "$@" 2>&1 | grep "T=") [$(( $(date +%s) - T00 )) s]" >> $AB; }
for i in 1 2; do
  run --label _two_kernels
  run --label _fused_runs --option cuda.fused_gemv=on
  MOERT_CUDA_FUSED_EVEN=1 run --label _fused_even --option cuda.fused_gemv=on
done
FINAL_DEADLINE_S=$(( ${CALL_S:-560} - ($(date +%s) - T00) - 10 )) bash "$HERE/final_call.sh"
echo "== A/B"; cat $AB
