#!/usr/bin/env bash
# Device call: a second sample of the headline (moert bench, then
# peer_moe.py, same call; 3 files into $OUT) and the device time, DRAM bytes
# and DRAM share of peak of each kernel of the one-token forwards of gpt-oss
# bf16 and MXFP4 (Nsight Compute, caches kept, clocks left alone).
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib PYTHONUNBUFFERED=1 MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
echo "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)  $(date -u)"
timeout 120 $C/bin/moert bench configs/models/peer-shapes.yaml --runner cuda --tokens 1,16,64,256,1024,4096,16384 --reps 30 --json $OUT/moert_bench.json > /dev/null 2>&1; echo "moert bench exit $?"
timeout 150 python3 $C/peer_moe.py --out $OUT/peer.json > /dev/null 2>&1; echo "peer exit $?"
timeout 60 $C/bin/moert bench configs/models/gpt-oss-120b.yaml --runner cuda --tokens 1,16 --reps 30 --json $OUT/moert_bench_mxfp4_cuda.json > /dev/null 2>&1
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for a in "--no-mxfp4" "--only-mxfp4"; do
  echo "== gptoss 1 token $a (name | us | DRAM MB | DRAM % peak)"
  timeout 80 $NCU --clock-control none --cache-control none --launch-skip 0 --launch-count 40 --csv \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed \
    $C/bin/moert-bench-cuda --reps 2 --tokens 1 --shapes gptoss $a 2>/dev/null | grep -E '^"[0-9]' |
    awk -F'","' '{k=$1"|"$5; if (!(k in seen)) {order[++n]=k}; seen[k]=1; v[k]=v[k] " " $(NF)} END {for (i=1;i<=n;i++) print substr(order[i],1,60) v[order[i]]}' | sed 's/"//g' | tail -16
done
