#!/usr/bin/env bash
# Runs on the device machine: device time of each kernel of one forward, for
# the points given as shape:tokens (bf16 weights unless the shape is mxfp4),
# through Nsight Compute (clocks left alone). The bench's set-up launches
# (weight conversion) come first; the rows of one forward are the last ones
# before the eager repetitions start, so read the printed list from the top
# of each point's forward (routing or route_and_sort).
#   scripts/gpu/kernel_times.sh qwen3:4096 mixtral:4096 gptoss:16384
# CACHE=none keeps the caches between kernels (default all: flushed before
# each, as the earlier tables); SKIP=N skips the first N launches.
set -u
C=${C:-.carry/final}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for pt in "$@"; do
  shape=${pt%%:*}; T=${pt##*:}
  if [ "$shape" = mxfp4 ]; then args="--shapes gptoss --only-mxfp4"; else args="--shapes $shape --no-mxfp4"; fi
  echo "== $pt"
  timeout 150 "$NCU" --clock-control none --cache-control ${CACHE:-all} --launch-skip ${SKIP:-0} --launch-count ${LAUNCHES:-12} --csv --metrics gpu__time_duration.sum \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" $args 2>/dev/null | tee "$OUT/ncu_${shape}_$T.csv" \
    | grep -E '^"[0-9]' | awk -F'","' '{printf "  %-60.60s %12s ns\n", $5, $NF}' | sed 's/"//g'
done
