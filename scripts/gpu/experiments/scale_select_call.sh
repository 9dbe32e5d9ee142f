#!/usr/bin/env bash
# Device call: the branchless e8m0 scale (mx_scale_x2p14 as a select) in
# this build (.carry/final, "sel") against .carry/variants/h2.so.xz (the
# branchy form everywhere): the MXFP4, fused-decode, graph and non-finite
# tests and memcheck on the MXFP4 tests (this build), then gpt-oss MXFP4 at
# 1, 16 and 64 tokens, graph and eager µs, alternating, twice.
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib
NEW=$C/lib/moert/plugins/libmoert-cuda.so
mkdir -p /tmp/variants
xz -dc .carry/variants/h2.so.xz > /tmp/variants/h2.so
cp $NEW /tmp/variants/sel.so
MOERT_CUDA_PLUGIN=$NEW timeout 90 $C/bin/moert_cuda_tests --gtest_filter='*mxfp4*:*FusedDecode*:*Graph*:*NonFinite*' 2>&1 |
  grep -E "numerics.*T=(1|300) |FAILED|PASSED|Failure" | tail -20
CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
MOERT_CUDA_PLUGIN=$NEW timeout 50 $CS --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests \
  --gtest_filter='*mxfp4*:*FusedDecode*' > /tmp/variants/memcheck.log 2>&1
echo "memcheck exit $?: $(grep -E 'ERROR SUMMARY' /tmp/variants/memcheck.log | tail -1) $(grep -E 'PASSED|FAILED' /tmp/variants/memcheck.log | tail -2 | tr '\n' ' ')"
echo "== A/B: gpt-oss MXFP4"
for i in 1 2; do
  for v in h2 sel; do
    MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 --tokens 1,16 \
      --reps 30 --label _$v 2>&1 | grep "T=" | tee -a ${OUT:-/tmp}/ab.txt
  done
done
