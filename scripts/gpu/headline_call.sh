#!/usr/bin/env bash
# Device: moert bench (21 points, then gpt-oss MXFP4) and peer_moe.py in one
# call, at most 8 files into $OUT (the device tool's limit), then the tests
# named in $1 (a gtest filter), if any.
set -u
C=.carry/final
O=$OUT
export LD_LIBRARY_PATH=$C/lib PYTHONUNBUFFERED=1 MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
M=$C/bin/moert
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)"
timeout 200 $M bench configs/models/peer-shapes.yaml --runner cuda --tokens 1,16,64,256,1024,4096,16384 --reps 30 --json $O/moert_bench.json > $O/moert_bench.log 2>&1; cat $O/moert_bench.log
timeout 60 $M bench configs/models/gpt-oss-120b.yaml --runner cuda --tokens 1,16,64,256,1024 --reps 30 --json $O/moert_bench_mxfp4_cuda.json 2>&1 | tail -7
timeout 200 python3 $C/peer_moe.py --out $O/peer.json > $O/peer.log 2>&1; echo "peer exit $?"; grep "T=" $O/peer.log
[ -n "${1:-}" ] && timeout 100 $C/bin/moert_cuda_tests --gtest_filter="$1" 2>&1 | grep -E "numerics|OK|FAILED|PASSED" | tail -8
