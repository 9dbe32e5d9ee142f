#!/usr/bin/env bash
# Runs on the device machine: per-kernel device time and DRAM throughput of
# the first forward (5 kernels) at a few points, through Nsight Compute.
set -u
C=${CARRY:-.carry/cuda}
OUT=${OUT:-gpu-out}
export MOERT_CUDA_PLUGIN=$C/libmoert-cuda.so
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
M=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed
prof() {  # label, bench args...
  local l=$1; shift
  timeout 120 "$NCU" --launch-count 5 --csv --metrics $M "$C/moert-bench-cuda" --reps 1 "$@" 2>/dev/null \
    | grep -E '^"[0-9]' | awk -F'","' -v l="$l" '{printf "%-10s %-40.40s %-55s %s\n", l, $5, $(NF-2), $NF}' | sed 's/"//g'
}
{
prof qwen3_T1 --shapes qwen3 --tokens 1 --no-mxfp4
prof mxfp4_T1 --shapes gptoss --tokens 1 --only-mxfp4
prof mixtral_T64 --shapes mixtral --tokens 64 --no-mxfp4
prof mixtral_T4096 --shapes mixtral --tokens 4096 --no-mxfp4
} | tee "$OUT/profile.txt"
