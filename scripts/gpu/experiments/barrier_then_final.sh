#!/usr/bin/env bash
# Device call: a short one-token A/B of the fused kernel's grid barrier in
# halves (this build) against the counter-and-generation barrier (variant
# `trace`), with MOERT_CUDA_FUSED_L2_PAIRS 0 / 2 (removed after this call, as
# slower), and one MOERT_CUDA_FUSED_TRACE
# run; then scripts/gpu/final_call.sh (the headline) with the rest of
# CALL_S (default 560) seconds. The A/B and the trace print at the end.
set -u
HERE=$(dirname "$0")/..
C=.carry/final
T00=$(date +%s)
. "$HERE/variants_common.sh"
unpack_variants trace
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
AB=/tmp/ab.txt
for i in 1 2; do
  for s in "gptoss --no-mxfp4" "mixtral --no-mxfp4"; do
    LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=/tmp/variants/trace.so timeout 60 $B --shapes $s --label _oldbar 2>&1 | grep "T=" >> $AB
    for l2 in 0 2; do
      [ "$l2" = 2 ] && [ "${s%% *}" = mixtral ] && continue
      LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=/tmp/variants/new.so MOERT_CUDA_FUSED_L2_PAIRS=$l2 timeout 60 $B --shapes $s \
        --label _halves_l2_$l2 2>&1 | grep "T=" >> $AB
    done
  done
done
LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=/tmp/variants/new.so MOERT_CUDA_FUSED_TRACE=/tmp/trace.txt timeout 60 $B \
  --shapes gptoss --no-mxfp4 --label _trace 2>&1 | grep "T=" >> $AB
echo "A/B done at $(( $(date +%s) - T00 )) s"
FINAL_DEADLINE_S=$(( ${CALL_S:-560} - ($(date +%s) - T00) - 10 )) bash "$HERE/final_call.sh"
echo "== A/B"; cat $AB; cat /tmp/trace.txt
