#!/usr/bin/env bash
# Runs on the device machine: is graph replay slower than eager at large
# batches because it is timed second? moert bench at the given layer:tokens
# points of configs/models/peer-shapes.yaml in the default order (eager, then
# graph) and with --graph-first, twice each, with nvidia-smi's SM clock and
# throttle reasons sampled every 20 ms into $OUT/order_smi.csv.
#   scripts/gpu/order_check.sh mixtral:1024 gptoss:256,4096
set -u
C=${C:-.carry/final}
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,clocks_event_reasons.active --format=csv,noheader -lms 20 \
  > $OUT/order_smi.csv 2>&1 &
SMI=$!
for round in 1 2; do
  for order in eager-first graph-first; do
    flag=; [ $order = graph-first ] && flag=--graph-first
    for pt in "$@"; do
      timeout 120 $C/bin/moert bench configs/models/peer-shapes.yaml --runner cuda --layer ${pt%%:*} \
        --tokens ${pt##*:} --reps ${R:-30} $flag 2>&1 | grep "T=" | sed "s/^/$order /"
    done
  done
done
kill $SMI 2>/dev/null
echo "throttle samples (SW power cap bit 0x4) / all non-idle samples: $(grep -c '0x000000000000000[4-7]' $OUT/order_smi.csv) / $(grep -vc '0x0000000000000001' $OUT/order_smi.csv)"
