#!/usr/bin/env bash
# Runs on the device machine from the repo root, with the build carried in
# .carry/ (moert_cuda_tests, moert-bench-cuda, libmoert-cuda.so, peer_moe.py):
#   scripts/gpu/run_all.sh [tests] [memcheck] [bench] [peer]
# Logs and JSON go to $OUT (the device tool's folder) or ./gpu-out.
set -u
C=${CARRY:-.carry/cuda}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export MOERT_CUDA_PLUGIN=$C/libmoert-cuda.so
export LD_LIBRARY_PATH=$C:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
steps=${*:-tests memcheck bench peer}
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
echo "GPU: $GPU  driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)  $(date -u)"
for s in $steps; do
  case $s in
    tests)
      timeout ${T_TESTS:-150} "$C/moert_cuda_tests" 2>&1 | tee "$OUT/tests.log" | grep -E 'numerics|FAILED|PASSED|SKIPPED|error' ;;
    memcheck)
      CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
      if [ -z "$CS" ]; then echo "memcheck: compute-sanitizer not found" | tee "$OUT/memcheck.log"; else
        timeout ${T_MEMCHECK:-300} "$CS" --tool memcheck --error-exitcode 9 "$C/moert_cuda_tests" > "$OUT/memcheck.log" 2>&1
        echo "memcheck exit $? ($(grep -E 'ERROR SUMMARY' "$OUT/memcheck.log" | tail -1))"; fi ;;
    bench)
      timeout ${T_BENCH:-200} "$C/moert-bench-cuda" --out "$OUT/bench.jsonl" ${BENCH_ARGS:-} 2>&1 | tail -40 ;;
    peer)
      timeout ${T_PEER:-240} python3 "$C/peer_moe.py" --out "$OUT/peer.json" ${PEER_ARGS:-} 2>&1 | tail -30
      [ -f "$OUT/bench.jsonl" ] && python3 scripts/gpu/report.py "$OUT/bench.jsonl" "$OUT/peer.json" "$GPU" | tee "$OUT/report.md" ;;
  esac
done
