#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final): where the large-batch forward's time goes on the current
# build. First each kernel's device time in one forward (kernel_times.sh,
# caches kept), then Nsight Compute's throughput, warp-state and source
# sections on the wgmma GEMMs of the points in $GEMM_POINTS (GEMM1 and GEMM2
# of one forward; the SM frequency says whether the power cap clocks down).
# Output in $OUT: ncu_*.csv, gemm_<shape>_<tokens>.txt.
#   scripts/gpu/large_profile.sh
set -u
export OUT=${OUT:-gpu-out} C=${C:-.carry/final}
export LD_LIBRARY_PATH=$C/lib:${LD_LIBRARY_PATH:-}
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)"
CACHE=none bash scripts/gpu/kernel_times.sh ${TIME_POINTS:-qwen3:4096 qwen3:16384 mixtral:1024 gptoss:16384}
. "$(dirname "$0")/ncu_common.sh"
for pt in ${GEMM_POINTS:-qwen3:4096 gptoss:4096}; do
  shape=${pt%%:*}; T=${pt##*:}
  f=$OUT/gemm_${shape}_$T.txt
  echo "== $pt (wgmma GEMMs)"
  timeout 200 "$NCU" --clock-control none --kernel-name regex:grouped_wgmma_kernel --launch-count 2 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section WarpStateStats --section SchedulerStats --section SourceCounters --section Occupancy \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes "$shape" --no-mxfp4 > "$f" 2>&1
  grep -E "grouped_wgmma_kernel<|Duration|SM Frequency|Compute \(SM\) Thr|Memory Thr|L2 Cache Thr|DRAM Thr|Issue Slots Busy|Issued Ipc|Eligible Warps|No Eligible|Warp Cycles Per Issued|Tensor|L1/TEX Hit|L2 Hit|Mem Busy|Max Bandwidth" "$f" | head -80
done
