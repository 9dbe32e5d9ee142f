#!/usr/bin/env bash
# Runs on the device machine with a packed build in $C (scripts/gpu/pack_final.sh):
# what bounds the wgmma grouped GEMM at the points given as shape:tokens
# (bf16). Nsight Compute on the kernel's first LAUNCHES launches (GEMM1,
# GEMM2 of one forward) with the sections that say which unit is busy
# (speed of light, compute and memory workload, warp states, source
# counters). The details page goes to $OUT/wgmma_<shape>_<tokens>.txt; the
# headline lines are printed.
#   scripts/gpu/wgmma_profile.sh qwen3:4096
set -u
. "$(dirname "$0")/ncu_common.sh"
for pt in "$@"; do
  shape=${pt%%:*}; T=${pt##*:}
  f=$OUT/wgmma_${shape}_$T.txt
  echo "== $pt"
  timeout 200 "$NCU" --clock-control none --kernel-name regex:grouped_wgmma_kernel --launch-count ${LAUNCHES:-2} \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section WarpStateStats --section SchedulerStats --section SourceCounters --section LaunchStats \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes "$shape" --no-mxfp4 > "$f" 2>&1
  grep -E "grouped_wgmma_kernel|Duration|SM Frequency|Issued Warp|Eligible Warps|Compute \(SM\)|Memory Throughput|L1/TEX Hit|L2 Hit|DRAM Throughput|Tensor|Pipe|Stall|stall" "$f" | head -80
done
