#!/usr/bin/env bash
# Runs on the device machine with the build packed by pack_final.sh: the CUDA
# tests, the bench with the wgmma GEMM's loading choices against each other
# (A rows permuted and loaded by TMA, the default, against the cp.async
# gather: option cuda.permute_rows=false; 64-row wgmma tiles against the
# mma.sync kernel: MOERT_CUDA_WGMMA64=0), and the kernels' device times.
# Logs go to $OUT.
set -u
C=${C:-.carry/final}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$C/lib:${LD_LIBRARY_PATH:-}
export MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; date -u
timeout 200 "$C/bin/moert_cuda_tests" > "$OUT/tests.log" 2>&1
echo "tests exit $?: $(grep -E '^\[  (PASSED|FAILED)' "$OUT/tests.log" | tr '\n' ' ')"
grep -E "numerics.*wgmma|FAILED|Failure|exception" "$OUT/tests.log" | head -20
B="$C/bin/moert-bench-cuda --no-mxfp4 --reps ${REPS:-20}"
bench() {  # label, env/bench command...
  local label=$1; shift
  echo "== $label"
  env "$@" 2>&1 | grep -E "T=" | sed 's/^/  /'
}
bench default $B --tokens ${TOKENS:-64,256,1024,4096,16384}
bench gather_rows $B --tokens 1024,4096,16384 --option cuda.permute_rows=false
bench wgmma64_off MOERT_CUDA_WGMMA64=0 $B --tokens 256,1024
[ -n "${KTIMES:-}" ] && scripts/gpu/kernel_times.sh $KTIMES
