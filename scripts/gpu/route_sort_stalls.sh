#!/usr/bin/env bash
# Runs on the device machine: where the small-batch routing and sort kernels
# spend their time, for points given as shape:tokens (bf16 weights):
# duration, occupancy, issue rate, stall reasons and the SASS lines with most
# warp samples of route_sort_kernel (<= 32 tokens) or of routing_kernel and
# sort_align_kernel (more tokens), in a later forward (launches skipped past
# the first forwards, caches kept between kernels, clocks untouched).
#   scripts/gpu/route_sort_stalls.sh qwen3:16 qwen3:64
set -u
. "$(dirname "$0")/ncu_common.sh"
HERE=$(dirname "$0")
for pt in "$@"; do
  shape=${pt%%:*}; T=${pt##*:}
  echo "== $pt"
  timeout 150 "$NCU" --clock-control none --cache-control none --kernel-name regex:'route_sort|routing_kernel|sort_align' \
    --launch-skip ${SKIP:-4} --launch-count ${COUNT:-2} --section WarpStateStats --section SourceCounters \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section SchedulerStats \
    -o "$OUT/rep_$shape$T" -f "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes "$shape" --no-mxfp4 > /dev/null 2>&1
  "$NCU" -i "$OUT/rep_$shape$T.ncu-rep" --page details 2>&1 |
    grep -E "route_sort|routing_kernel|sort_align|Duration|Elapsed Cycles|SM Frequency|Warp Cycles Per Issued|Achieved Occupancy|Executed Ipc A|Issue Slots Busy|No Eligible|Active Warps Per" | cut -c1-150
  "$NCU" -i "$OUT/rep_$shape$T.ncu-rep" --page source --csv --print-source sass > "$OUT/src_$shape$T.csv" 2>/dev/null
  python3 "$HERE/decode_stalls.py" "$OUT/src_$shape$T.csv" | cut -c1-200 | head -${LINES_PER:-45}
  rm -f "$OUT/src_$shape$T.csv" "$OUT/rep_$shape$T.ncu-rep"
done
