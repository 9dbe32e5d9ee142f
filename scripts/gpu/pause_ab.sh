#!/usr/bin/env bash
# Runs on the device machine (build packed by scripts/gpu/pack_final.sh into
# .carry/final): does an idle gap before each timed phase (moert bench
# --pause-ms) change the times? Full sweeps of configs/models/peer-shapes.yaml,
# the pauses of PAUSES (default "0 500", as in docs/bench.md) in turn, ROUNDS (default 2)
# times, then bench/peer_moe.py for the floors of the same call; nvidia-smi's
# SM clock, power and throttle reasons every 50 ms into $OUT/pause_smi.csv.
# Writes $OUT/pause_ab.txt (the sweeps' point lines), peer.json and .log, pause_smi.csv.xz.
set -u
C=${C:-.carry/final}
export LD_LIBRARY_PATH=$C/lib PYTHONUNBUFFERED=1 MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
T0=$(date +%s)
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader | head -1)  $(date -u)"
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,clocks_event_reasons.active --format=csv,noheader -lms 50 \
  > $OUT/pause_smi.csv 2>&1 &
SMI=$!
for r in $(seq 1 ${ROUNDS:-2}); do
  for p in ${PAUSES:-0 500}; do
    timeout 150 $C/bin/moert bench configs/models/peer-shapes.yaml --runner cuda --tokens 1,16,64,256,1024,4096,16384 \
      --reps 30 --pause-ms $p 2>&1 | grep "T=" | sed "s/^/pause $p round $r /" >> $OUT/pause_ab.txt
    echo "pause $p round $r done at $(( $(date +%s) - T0 )) s"
  done
done
kill $SMI 2>/dev/null
timeout 200 python3 $C/peer_moe.py --out $OUT/peer.json > $OUT/peer.log 2>&1
echo "peer exit $? at $(( $(date +%s) - T0 )) s"; grep -i "floor\|bandwidth\|TFLOP" $OUT/peer.log | head -3
echo "throttle samples (SW power cap bit 0x4) / all: $(grep -c '0x000000000000000[4-7]' $OUT/pause_smi.csv) / $(wc -l < $OUT/pause_smi.csv)"
xz -9 $OUT/pause_smi.csv
