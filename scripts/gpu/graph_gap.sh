#!/usr/bin/env bash
# Device-side probe of why graph replay can be slower than eager at large
# batches (docs/cuda-backend.md, "Known gaps"). Run from the repo root with the
# packed build in $C (scripts/gpu/pack_final.sh); writes into $OUT:
#   smi.csv        SM/memory clocks, power, temperature and throttle reasons
#                  every 20 ms over the whole call (section marks in marks.txt)
#   marks.txt      wall-clock time of each section
#   bench.txt      moert bench lines, default and with PDL off (MOERT_CUDA_PDL=0)
# Per-kernel times of eager launches against graph nodes: graph_gap_ncu.sh.
set -u
C=${C:-.carry/final}
O=$OUT
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
M=$C/bin/moert
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader | head -1)"
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
