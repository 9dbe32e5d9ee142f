#!/usr/bin/env bash
# Device: the CUDA tests, then the knobs off (old) against on (new), same
# call, alternating twice: narrow last column tiles of the wgmma kernel
# (MOERT_CUDA_WG_NARROW; gpt-oss, whose N = 5760 / 2880 are not multiples of
# 256) and one trip of loads for short dense rows in the rows kernel
# (MOERT_CUDA_ROWS_ONETRIP; qwen3 GEMV2 at 16 tokens). SKIP_TESTS=1 skips the tests.
set -u
R=${R:-10}
. "$(dirname "$0")/ab_common.sh"
[ "${SKIP_TESTS:-0}" = 1 ] || timeout 200 $C/bin/moert_cuda_tests 2>&1 | grep -E "one_trip|wgmma|FAILED|PASSED|Failure" | tail -24
for round in 1 2; do
  for k in 0 1; do
    v=old; [ $k = 1 ] && v=new
    MOERT_CUDA_WG_NARROW=$k ab_bench $v $NEW gptoss 1024,4096,16384
    MOERT_CUDA_ROWS_ONETRIP=$k ab_bench $v $NEW qwen3 16
  done
done
