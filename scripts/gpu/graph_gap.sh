#!/usr/bin/env bash
# Device-side probe of why graph replay can be slower than eager at large
# batches (docs/cuda-backend.md, "Known gaps"). Run from the repo root with the
# packed build in $C (scripts/gpu/pack_final.sh); writes into $OUT:
#   smi.csv        SM/memory clocks, power, temperature and throttle reasons
#                  every 20 ms over the whole call (section marks in marks.txt)
#   marks.txt      wall-clock time of each section
#   bench.txt      moert bench lines, default and with PDL off (MOERT_CUDA_PDL=0)
#   nsys_*.txt     per-kernel GPU times, eager against graph, when nsys exists
set -u
C=${C:-.carry/final}
O=$OUT
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
M=$C/bin/moert
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems*/bin/nsys /usr/local/cuda/nsight-systems*/bin/nsys 2>/dev/null | head -1)
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader | head -1)  nsys: ${NSYS:-none}"
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_event_reasons.active \
  --format=csv,noheader -lms 20 > $O/smi.csv 2>&1 &
SMI=$!
mark() { echo "$(date +%H:%M:%S.%N | cut -c1-12) $*" >> $O/marks.txt; }
bench() {  # LABEL LAYER TOKENS [ENV=VALUE ...]
  local label=$1 layer=$2 tokens=$3
  shift 3
  mark "begin $label $layer $tokens"
  env "$@" timeout 120 $M bench configs/models/peer-shapes.yaml --runner cuda --layer $layer --tokens $tokens --reps ${R:-30} 2>&1 |
    grep "T=" | sed "s/^/$label /" | tee -a $O/bench.txt
  mark "end $label $layer $tokens"
}
bench default mixtral 64,1024
bench pdl_off mixtral 64,1024 MOERT_CUDA_PDL=0
bench default qwen3 4096,16384
bench pdl_off qwen3 4096,16384 MOERT_CUDA_PDL=0
bench default gptoss 256,4096
bench pdl_off gptoss 256,4096 MOERT_CUDA_PDL=0
kill $SMI 2>/dev/null
if [ -n "$NSYS" ]; then
  for pt in mixtral:1024 qwen3:16384; do
    l=${pt%%:*} t=${pt##*:}
    timeout 150 $NSYS profile -q -t cuda --cuda-graph-trace=node -o /tmp/gg_$l -f true \
      $M bench configs/models/peer-shapes.yaml --runner cuda --layer $l --tokens $t --reps 10 > /dev/null 2>&1
    timeout 60 $NSYS stats -q --report cuda_gpu_trace --format csv -o /tmp/gg_$l /tmp/gg_$l.nsys-rep > /dev/null 2>&1
    python3 scripts/gpu/graph_gap_summary.py /tmp/gg_${l}_cuda_gpu_trace.csv > $O/nsys_$l.txt 2>&1
    head -40 $O/nsys_$l.txt
  done
fi
