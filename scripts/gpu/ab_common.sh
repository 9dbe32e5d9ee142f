# Sourced by the device-side A/B scripts (epilogue_ab.sh, ring_ab.sh,
# knob_sweep.sh). The packed build is in $C (scripts/gpu/pack_final.sh), $R
# the repetitions, $NEW its plugin.
#   ab_tests FILTER                            the CUDA tests FILTER names, on $NEW
#   ab_bench LABEL PLUGIN SHAPES TOKENS [ARGS] moert-bench-cuda with that plugin
#   ab_all_tests                               all CUDA tests on $NEW into $OUT/tests.txt, its last 2 lines shown
#   ab_run LABEL PLUGIN ARGS...                moert-bench-cuda with that plugin and ARGS, the lines
#                                              appended to $OUT/ab.txt (repetitions: $R)
# Environment knobs go before the call: MOERT_CUDA_WG_BN=256 ab_bench ...
C=${C:-.carry/final}
R=${R:-10}
NEW=$C/lib/moert/plugins/libmoert-cuda.so
export LD_LIBRARY_PATH=$C/lib
ab_tests() {
  MOERT_CUDA_PLUGIN=$NEW timeout 150 $C/bin/moert_cuda_tests --gtest_filter="$1" 2>&1 |
    grep -E "numerics|FAILED|PASSED|Failure" | tail -16
}
ab_bench() {
  local label=$1 plugin=$2 shapes=$3 tokens=$4
  shift 4
  MOERT_CUDA_PLUGIN=$plugin timeout 150 $C/bin/moert-bench-cuda --shapes $shapes --tokens $tokens --reps $R \
    --no-mxfp4 --label _$label "$@" 2>&1 | grep "T="
}
ab_run() {
  local label=$1 plugin=$2
  shift 2
  MOERT_CUDA_PLUGIN=$plugin timeout 150 $C/bin/moert-bench-cuda --reps $R --label _$label "$@" 2>&1 | grep "T=" >> $OUT/ab.txt
}
ab_all_tests() {
  MOERT_CUDA_PLUGIN=$NEW timeout 240 $C/bin/moert_cuda_tests 2>&1 |
    grep -E "numerics|FAILED|PASSED|Failure|tests ran|Skipped" > $OUT/tests.txt
  tail -2 $OUT/tests.txt
}
