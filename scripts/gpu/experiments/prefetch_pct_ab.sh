#!/usr/bin/env bash
# Device: the CUDA tests, then one token at several L2 prefetch shares
# (MOERT_CUDA_L2_PREFETCH_PCT: GEMV2's weights that GEMV1 brings into L2, as
# a share of L2 over the top-k experts; default 40), same call, two rounds:
# qwen3 (25 MB of GEMV2 weights: 40% of L2 covers 80%) and gpt-oss bf16 (66
# MB: below 75% coverage the prefetch is off). SKIP_TESTS=1 skips the tests.
set -u
R=${R:-30}
. "$(dirname "$0")/../ab_common.sh"
[ "${SKIP_TESTS:-0}" = 1 ] || MOERT_CUDA_PLUGIN=$NEW timeout 200 $C/bin/moert_cuda_tests 2>&1 |
  grep -E "numerics.*one_trip|FAILED|PASSED|Failure" | tail -12
for round in 1 2; do
  for pct in 40 50 60; do MOERT_CUDA_L2_PREFETCH_PCT=$pct ab_bench pct$pct $NEW qwen3 1; done
  for pct in 40 100; do MOERT_CUDA_L2_PREFETCH_PCT=$pct ab_bench pct$pct $NEW gptoss 1; done
done
