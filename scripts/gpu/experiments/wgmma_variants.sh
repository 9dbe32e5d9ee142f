#!/usr/bin/env bash
# Runs on the device machine with the build packed by pack_final.sh: the CUDA
# tests, then the bench under the wgmma GEMM's knobs against each other
# (64-row tiles on wgmma, the default, against mma.sync: MOERT_CUDA_WGMMA64=0;
# BN forced to 256 for the short-K shapes), and, with KTIMES="shape:tokens
# ...", each kernel's device time (kernel_times.sh). Logs go to $OUT.
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
bench wgmma64_off MOERT_CUDA_WGMMA64=0 $B --tokens 64,256,1024
bench bn256 MOERT_CUDA_WG_BN=256 $B --shapes qwen3,gptoss --tokens 4096,16384
[ -n "${KTIMES:-}" ] && scripts/gpu/kernel_times.sh $KTIMES
