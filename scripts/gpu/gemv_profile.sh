#!/usr/bin/env bash
# Runs on the device machine with a packed build in $C (scripts/gpu/pack_final.sh):
# the rows GEMV's two launches of one forward (GEMV1, GEMV2) at the points
# given as shape:tokens (bf16, decode path), through Nsight Compute (clocks
# and caches left alone): speed of light, memory, occupancy, warp states,
# scheduler, source counters. Details to $OUT/gemv_<shape>_<tokens>.txt;
# the headline lines are printed.
#   scripts/gpu/gemv_profile.sh qwen3:16
set -u
. "$(dirname "$0")/ncu_common.sh"
for pt in "$@"; do
  shape=${pt%%:*}; T=${pt##*:}
  f=$OUT/gemv_${shape}_$T.txt
  echo "== $pt"
  timeout 150 "$NCU" --clock-control none --cache-control none --kernel-name regex:gemv_rows_kernel --launch-count 2 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
    --section WarpStateStats --section SchedulerStats --section SourceCounters \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes "$shape" --no-mxfp4 > "$f" 2>&1
  grep -E "gemv_rows_kernel|Duration|DRAM Throughput|L2 Cache Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Issued Warp|Eligible Warps|Warp Cycles Per Issued|Est. Speedup|stalled|Block Limit" "$f" | head -60
done
