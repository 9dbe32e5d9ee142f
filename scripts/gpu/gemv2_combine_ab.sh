#!/usr/bin/env bash
# Device: one token, GEMV2 doing the combine (default) against GEMV2 + the
# combine kernel (MOERT_CUDA_GEMV2_COMBINE=0), same call, three rounds, graph
# replay: qwen3 and gpt-oss MXFP4 (the two-kernel one-token shapes). First
# all CUDA tests and memcheck on the one-token and graph tests, unless SKIP_TESTS=1.
set -u
R=${R:-30}
. "$(dirname "$0")/ab_common.sh"
[ "${SKIP_TESTS:-0}" = 1 ] || {
  MOERT_CUDA_PLUGIN=$NEW timeout 200 $C/bin/moert_cuda_tests 2>&1 | grep -E "FAILED|PASSED|Failure|differ" | tail -8
  CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  MOERT_CUDA_PLUGIN=$NEW timeout 150 $CS --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests \
    --gtest_filter='*FusedDecode*:*Graph*' 2>&1 | grep -E "ERROR SUMMARY|PASSED|FAILED" | tail -3
}
for round in 1 2 3; do
  for k in 0 1; do
    v=kernel; [ $k = 1 ] && v=gemv2
    MOERT_CUDA_GEMV2_COMBINE=$k ab_bench $v $NEW qwen3 1
    MOERT_CUDA_GEMV2_COMBINE=$k MOERT_CUDA_PLUGIN=$NEW timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --tokens 1 \
      --reps $R --only-mxfp4 --label _$v 2>&1 | grep "T="
  done
done
