#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final): the benchmark half of final_call.sh (which runs this first),
# alone for a second sample of a build whose tests already ran: `moert bench`
# of the peer shapes and of gpt-oss MXFP4, then bench/peer_moe.py, into $OUT
# (moert_bench.json and .log, moert_bench_mxfp4_cuda.json, peer.json and .log).
# The sweeps idle PAUSE_MS (default 500) before each timed phase (moert bench
# --pause-ms, docs/bench.md "Pause"); after the peer, the peer shapes are swept
# once more without the pause, appended to moert_bench.log, for comparison
# (not with SKIP_NOPAUSE=1).
set -u
C=.carry/final
O=$OUT
export LD_LIBRARY_PATH=$C/lib PYTHONUNBUFFERED=1 MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
M=$C/bin/moert
T0=${T0:-$(date +%s)}
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)"
timeout 200 $M bench configs/models/peer-shapes.yaml --runner cuda --tokens 1,16,64,256,1024,4096,16384 --reps 30 \
  --pause-ms ${PAUSE_MS:-500} --json $O/moert_bench.json > $O/moert_bench.log 2>&1
echo "moert bench exit $? at $(( $(date +%s) - T0 )) s"; cat $O/moert_bench.log
timeout 60 $M bench configs/models/gpt-oss-120b.yaml --runner cuda --tokens 1,16,64,256,1024 --reps 30 \
  --pause-ms ${PAUSE_MS:-500} --json $O/moert_bench_mxfp4_cuda.json 2>/dev/null | tail -7
timeout 200 python3 $C/peer_moe.py --out $O/peer.json > $O/peer.log 2>&1
echo "peer exit $? at $(( $(date +%s) - T0 )) s"; tail -5 $O/peer.log
[ "${SKIP_NOPAUSE:-0}" = 1 ] && exit 0  # a call short of time: the paused sweep and the peer only
echo "== the same sweep without the pause (--pause-ms 0), after the peer ==" >> $O/moert_bench.log
timeout 100 $M bench configs/models/peer-shapes.yaml --runner cuda --tokens 1,16,64,256,1024,4096,16384 --reps 30 \
  >> $O/moert_bench.log 2>&1
echo "moert bench without pause exit $? at $(( $(date +%s) - T0 )) s"
