#!/usr/bin/env bash
# The Nsight Compute call (11:47 UTC) on the 11:38 build: device time and DRAM bytes read per kernel of one
# forward (the last 12 launches before the bench's eager repetitions), qwen3 16 / gptoss 16 / qwen3 64 tokens.
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for pt in qwen3:16 gptoss:16 qwen3:64; do
  shape=${pt%%:*}; T=${pt##*:}
  echo "== $pt"
  timeout 80 "$NCU" --clock-control none --launch-count 12 --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens "$T" --shapes $shape --no-mxfp4 2>/dev/null > $OUT/ncu_${shape}_$T.csv
  grep -E '^"[0-9]' $OUT/ncu_${shape}_$T.csv | awk -F'","' '{printf "  %-50.50s %-24s %14s\n", $5, $(NF-2), $NF}' | sed 's/"//g' | tail -12
done
