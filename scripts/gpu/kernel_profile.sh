#!/usr/bin/env bash
# Runs on the device machine with a packed build in $C (scripts/gpu/pack_final.sh):
# what bounds one kernel of the forward at the points given as shape:tokens
# (bf16). Nsight Compute on the first LAUNCHES (default 2) launches whose name
# matches KERNEL (a regex; default grouped_wgmma_kernel, GEMM1 and GEMM2 of
# one forward; gemv_rows_kernel for the decode GEMVs), clocks left alone,
# caches flushed between kernels unless CACHE=none, with the sections that say
# which unit is busy: speed of light, compute and memory workload, occupancy,
# launch, warp states, scheduler, source counters. The details page goes to
# $OUT/<kernel>_<shape>_<tokens>.txt; its headline lines are printed.
#   scripts/gpu/kernel_profile.sh qwen3:4096
#   KERNEL=gemv_rows_kernel CACHE=none scripts/gpu/kernel_profile.sh qwen3:16
set -u
. "$(dirname "$0")/ncu_common.sh"
K=${KERNEL:-grouped_wgmma_kernel}
for pt in "$@"; do
  shape=${pt%%:*}; T=${pt##*:}
  f=$OUT/${K}_${shape}_$T.txt
  echo "== $pt"
  timeout 200 "$NCU" --clock-control none --cache-control ${CACHE:-all} --kernel-name regex:"$K" --launch-count ${LAUNCHES:-2} \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy \
    --section LaunchStats --section WarpStateStats --section SchedulerStats --section SourceCounters \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes "$shape" --no-mxfp4 > "$f" 2>&1
  grep -E "$K|Duration|SM Frequency|SM Active|Elapsed Cycles|DRAM Throughput|L2 Cache Throughput|L2 Hit|Achieved Occupancy|Issued Warp|Eligible Warps|Tensor|Est. Speedup|stalled" "$f" | head -80
done
