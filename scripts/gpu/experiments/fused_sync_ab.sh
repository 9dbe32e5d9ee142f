#!/usr/bin/env bash
# Device call (repo root; a build of main with
# bench/results/h200-2026-12-03d/fused_pipe.patch applied, packed by
# scripts/gpu/pack_final.sh into .carry/final; measured and not kept, see
# docs/cuda-backend.md "Known gaps"): the one-token fused kernel pipelined over the experts (slot
# counters, cuda.fused_gemv_sync: expert; MOERT_CUDA_FUSED_SYNC=2) against the
# grid-barrier kernel (MOERT_CUDA_FUSED_SYNC=1).
#  1. the fused, trace, graph, option and one-token tests (fused_sync_tests.log);
#  2. graph µs at one token, alternating, $ROUNDS times (default 3): gpt-oss bf16
#     and mixtral; the pipelined kernel's ring depth 3 once (MOERT_CUDA_PIPE_DEPTH);
#  3. both kernels' time stamps at gpt-oss bf16 and mixtral (trace.txt);
#  4. compute-sanitizer memcheck on the trace and graph tests (memcheck.log) and
#     on the fused-decode test with the pipelined kernel forced (memcheck_fused.log).
# Log: $OUT/fused_sync_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/fused_sync_ab.txt
R=30
. scripts/gpu/ab_common.sh
ab_begin_log $L
ab_knob_tests $L $OUT/fused_sync_tests.log '*FusedDecode*:*FusedTrace*:*Graph*:*BadDecode*:*UnknownOption*:*T1*' 150
cat $L
# A hang or a failure: no timings of a kernel that is not right.
grep -q "exit 0 " $L || { grep -E "Failure|FAILED" -A6 $OUT/fused_sync_tests.log | head -60; exit 1; }
for i in $(seq ${ROUNDS:-3}); do
  ab_knob_points grid $L "gptoss:1" MOERT_CUDA_FUSED_SYNC=1
  ab_knob_points expert $L "gptoss:1" MOERT_CUDA_FUSED_SYNC=2
done
for i in 1 2; do
  ab_knob_points grid $L "mixtral:1" MOERT_CUDA_FUSED_SYNC=1
  ab_knob_points expert $L "mixtral:1" MOERT_CUDA_FUSED_SYNC=2
done
ab_knob_points expert_d3 $L "gptoss:1" MOERT_CUDA_FUSED_SYNC=2 MOERT_CUDA_PIPE_DEPTH=3
for s in 1 2; do
  for sp in gptoss mixtral; do
    MOERT_CUDA_FUSED_SYNC=$s MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt MOERT_CUDA_PLUGIN=$NEW timeout 60 \
      $C/bin/moert-bench-cuda --shapes $sp --no-mxfp4 --tokens 1 --reps 30 --label _trace$s 2>&1 | grep "T=" >> $L
  done
done
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
MOERT_CUDA_PLUGIN=$NEW timeout 110 $SAN --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests \
  --gtest_filter='*FusedTrace*:*GraphCapture*' > $OUT/memcheck.log 2>&1
echo "memcheck (trace, graph): exit $? $(grep -E 'ERROR SUMMARY|tests ran' $OUT/memcheck.log | tr '\n' ' ') $(ab_at)" >> $L
MOERT_CUDA_FUSED_SYNC=2 MOERT_CUDA_PLUGIN=$NEW timeout 110 $SAN --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests \
  --gtest_filter='*FusedDecode*' > $OUT/memcheck_fused.log 2>&1
echo "memcheck (fused decode, sync forced to expert): exit $? $(grep -E 'ERROR SUMMARY|tests ran' $OUT/memcheck_fused.log | tr '\n' ' ') $(ab_at)" >> $L
awk '$2 == "T=" {s[$1] += $8; n[$1]++} END {for (k in s) printf "%-22s mean graph %8.2f us over %d\n", k, s[k] / n[k], n[k]}' $L |
  sort >> $L
cat $L
cat $OUT/trace.txt 2>/dev/null
