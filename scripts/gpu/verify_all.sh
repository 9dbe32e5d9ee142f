#!/usr/bin/env bash
# Runs on the GPU machine from the repo root, with a packed build in $C
# (bin/moert, bin/moert-conformance, bin/moert_cuda_tests,
#  lib/moert/plugins/libmoert-cuda.so, rocm/libmoert-rocm-nv.so,
#  rocm/moert_rocm_gpu_tests, lib/libyaml-cpp.so.0.7, peer_moe.py).
#   scripts/gpu/verify_all.sh verify   # plugins, conformance, tests, memcheck, model runs
#   scripts/gpu/verify_all.sh bench    # moert bench + peer_moe.py in the same call
# Logs go to $OUT.
set -u
C=${C:-.carry/final}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$C/lib:${LD_LIBRARY_PATH:-}
export PYTHONUNBUFFERED=1
M=$C/bin/moert
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)"
case ${1:-verify} in
  verify)
    $M plugins --plugin-dir $C/rocm 2>&1 | tee $OUT/plugins.log | head -40
    echo "== conformance cuda"
    timeout 200 $C/bin/moert-conformance $C/lib/moert/plugins/libmoert-cuda.so > $OUT/conf_cuda.log 2>&1; echo "exit $?"; tail -4 $OUT/conf_cuda.log
    grep -E "^\[  FAILED" $OUT/conf_cuda.log | head -20
    echo "== conformance rocm-nv"
    timeout 120 $C/bin/moert-conformance $C/rocm/libmoert-rocm-nv.so > $OUT/conf_rocm.log 2>&1; echo "exit $?"; tail -4 $OUT/conf_rocm.log
    grep -E "^\[  FAILED" $OUT/conf_rocm.log | head -20
    echo "== cuda tests"
    MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so timeout 150 $C/bin/moert_cuda_tests > $OUT/cuda_tests.log 2>&1; echo "exit $?"; tail -3 $OUT/cuda_tests.log
    echo "== rocm-nv gpu tests"
    MOERT_ROCM_PLUGIN=$C/rocm/libmoert-rocm-nv.so timeout 120 $C/rocm/moert_rocm_gpu_tests > $OUT/rocm_tests.log 2>&1; echo "exit $?"; tail -3 $OUT/rocm_tests.log
    echo "== memcheck cuda tests"
    CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
    MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so timeout 240 $CS --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests > $OUT/memcheck.log 2>&1
    echo "exit $?: $(grep -E 'ERROR SUMMARY' $OUT/memcheck.log | tail -1) $(grep -E 'PASSED|FAILED' $OUT/memcheck.log | tail -2 | tr '\n' ' ')"
    echo "== moert run on the model configs"
    for f in configs/models/mixtral-8x7b.yaml configs/models/qwen3-30b-a3b.yaml configs/models/gpt-oss-120b.yaml configs/models/deepseek-v3.yaml; do
      echo "-- $f (cuda)"; timeout 120 $M run $f --runner cuda --tokens 64 2>&1 | grep -E "runner|checksum|time|error" | head -5
    done
    echo "-- gpt-oss (rocm)"; timeout 120 $M run configs/models/gpt-oss-120b.yaml --plugin-dir $C/rocm --runner rocm --tokens 64 2>&1 | grep -E "runner|checksum|time|error" | head -5
    ;;
  bench)
    timeout 330 $M bench configs/models/peer-shapes.yaml --runner cuda --tokens ${TOKENS:-1,16,64,256,1024,4096,16384} --reps 30 --json $OUT/moert_bench.json > $OUT/moert_bench.log 2>$OUT/moert_bench.err; echo "moert bench exit $?"; cat $OUT/moert_bench.log | head -40; tail -3 $OUT/moert_bench.err
    timeout 150 $M bench configs/models/gpt-oss-120b.yaml --runner cuda --tokens 1,16,64,256,1024 --reps 30 --json $OUT/moert_bench_mxfp4_cuda.json 2>/dev/null | head -12
    timeout 150 $M bench configs/models/gpt-oss-120b.yaml --plugin-dir $C/rocm --runner rocm --tokens 1,16,64,256,1024 --reps 30 --json $OUT/moert_bench_mxfp4_rocm.json 2>/dev/null | head -12
    timeout 240 python3 $C/peer_moe.py --out $OUT/peer.json 2>&1 | tail -30
    ;;
esac
