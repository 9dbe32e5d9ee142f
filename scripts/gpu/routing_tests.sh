#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final): the routing's tests only (grouped top-k, ties, non-finite
# logits, the fused-decode bit-for-bit layers at 200-384 experts), for a
# change to the routing code alone. Log: $OUT/routing_tests.txt.
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
timeout ${ROUTING_TESTS_S:-80} $C/bin/moert_cuda_tests \
  --gtest_filter='*FusedDecode*:*RoutingTies*:*NonFinite*:*grouped*:*CustomRouting*' > $OUT/routing_tests.txt 2>&1
echo "exit $?"
grep -E "^\[  (PASSED|FAILED) |^\[       OK|Failure|tests ran" $OUT/routing_tests.txt | tail -20
