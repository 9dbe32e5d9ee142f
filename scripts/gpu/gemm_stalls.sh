#!/usr/bin/env bash
# Runs on the device machine with a packed build in $C (scripts/gpu/pack_final.sh):
# where the wgmma grouped GEMM's warps wait. Nsight Compute on the first
# launch of the kernel in one forward of each point given as shape:tokens
# (bf16), with the warp-state, scheduler and source-counter sections (stall
# reasons, and the SASS locations that take most stall samples). The details
# page goes to $OUT/stalls_<shape>_<tokens>.txt; its stall lines are printed.
#   scripts/gpu/gemm_stalls.sh qwen3:4096 mixtral:1024
set -u
. "$(dirname "$0")/ncu_common.sh"
for pt in "$@"; do
  shape=${pt%%:*}; T=${pt##*:}
  f=$OUT/stalls_${shape}_$T.txt
  echo "== $pt"
  timeout 240 "$NCU" --clock-control none --kernel-name regex:grouped_wgmma_kernel --launch-count ${LAUNCHES:-2} \
    --section WarpStateStats --section SchedulerStats --section SourceCounters --section SpeedOfLight \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes "$shape" --no-mxfp4 > "$f" 2>&1
  grep -E "grouped_wgmma_kernel|Duration|Issued Warp|Eligible|Stall|stall|Warp Cycles Per|Compute \(SM\)|Memory Throughput" "$f" | head -60
done
