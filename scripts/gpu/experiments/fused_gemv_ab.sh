#!/usr/bin/env bash
# Runs on the device machine: one token, GEMV1 and GEMV2 in one cooperative
# kernel (cuda.fused_gemv: on) against the two kernels (default), same call,
# graph replay, alternating twice; bf16 mixtral / qwen3 / gpt-oss and gpt-oss
# MXFP4 (SHAPES: the bf16 shapes, default all three). First the numerics and
# graph tests of the fused path and memcheck on them, unless SKIP_TESTS=1.
set -u
C=${C:-.carry/final}
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
F='*FusedDecode*:*Graph*:*BadDecode*'
[ "${SKIP_TESTS:-0}" = 1 ] || {
timeout 120 $C/bin/moert_cuda_tests --gtest_filter="$F" 2>&1 | grep -E "FAILED|PASSED|Failure|differ|OK \]" | tail -10
CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
timeout 150 $CS --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests --gtest_filter='*FusedDecode*:*Graph*' 2>&1 |
  grep -E "ERROR SUMMARY|PASSED|FAILED" | tail -3
}
B="$C/bin/moert-bench-cuda --tokens 1 --reps ${R:-30}"
for round in 1 2; do
  for v in two one; do
    o="--option cuda.fused_gemv=off"; [ $v = one ] && o="--option cuda.fused_gemv=on"
    timeout 60 $B --shapes ${SHAPES:-mixtral,qwen3,gptoss} --no-mxfp4 $o --label _$v 2>&1 | grep "T="
    timeout 40 $B --shapes gptoss --only-mxfp4 $o --label _$v 2>&1 | grep "T="
  done
done
[ "${SKIP_TESTS:-0}" = 1 ] && exit 0
# The fused kernel is what runs with the option (one launch of it per forward).
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
timeout 60 $NCU --clock-control none --launch-count 3 --csv --metrics gpu__time_duration.sum \
  $C/bin/moert-bench-cuda --shapes qwen3 --tokens 1 --reps 1 --no-mxfp4 --option cuda.fused_gemv=on 2>/dev/null |
  grep -E '^"[0-9]' | awk -F'","' '{printf "  %-70.70s %12s\n", $5, $NF}' | sed 's/"//g'
