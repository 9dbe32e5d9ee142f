#!/usr/bin/env bash
# Runs on the device machine: stall reasons and the SASS lines with most warp
# samples of the one-token kernels of a later forward (launches skipped past
# the first forwards, caches kept between kernels, as in a replayed graph),
# for each point (mxfp4 = gpt-oss with MXFP4 weights, else the shape, bf16).
#   scripts/gpu/decode_stalls_warm.sh qwen3 gptoss
# BENCH_ARGS adds bench arguments (e.g. --option cuda.gemv_kernel=stream).
set -u
. "$(dirname "$0")/ncu_common.sh"
HERE=$(dirname "$0")
for pt in "$@"; do
  if [ "$pt" = mxfp4 ]; then A="--shapes gptoss --only-mxfp4"; else A="--shapes $pt --no-mxfp4"; fi
  echo "== $pt"
  timeout 150 "$NCU" --clock-control none --cache-control none --kernel-name regex:'gemv|combine' --launch-skip ${SKIP:-6} \
    --launch-count ${COUNT:-2} --section WarpStateStats --section SourceCounters --section SpeedOfLight --section Occupancy --section LaunchStats \
    -o "$OUT/rep_$pt" -f "$C/bin/moert-bench-cuda" --reps 1 --tokens 1 $A ${BENCH_ARGS:-} > /dev/null 2>&1
  "$NCU" -i "$OUT/rep_$pt.ncu-rep" --page details 2>&1 | grep -E "gemv|combine|Duration|DRAM Throughput|Warp Cycles Per Issued|Occupancy|Block Limit|Registers Per|Grid Size|Executed Ipc A|Issue Slots" | cut -c1-150
  "$NCU" -i "$OUT/rep_$pt.ncu-rep" --page source --csv --print-source sass > "$OUT/src_$pt.csv" 2>/dev/null
  python3 "$HERE/decode_stalls.py" "$OUT/src_$pt.csv" | cut -c1-200 | head -${LINES_PER:-40}
  rm -f "$OUT/src_$pt.csv" "$OUT/rep_$pt.ncu-rep"
done
