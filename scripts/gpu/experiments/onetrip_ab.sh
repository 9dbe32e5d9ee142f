#!/usr/bin/env bash
# Device: the CUDA tests of the rows kernel, then its one-trip loads of short
# dense rows off (MOERT_CUDA_ROWS_ONETRIP=0, old) against on (new), same
# call, alternating twice: qwen3 at 16 tokens (GEMV2, K = 768). SKIP_TESTS=1
# skips the tests. (Run at 17:40 UTC on 2026-12-01 together with the wgmma
# narrow column tiles of branch wip/narrow-column-tiles:
# bench/results/h200-2026-12-01i/ab_narrow_onetrip.txt.)
set -u
R=${R:-10}
. "$(dirname "$0")/../ab_common.sh"
[ "${SKIP_TESTS:-0}" = 1 ] || ab_tests '*rows*'
for round in 1 2; do
  for k in 0 1; do
    v=old; [ $k = 1 ] && v=new
    MOERT_CUDA_ROWS_ONETRIP=$k ab_bench $v $NEW qwen3 16
  done
done
