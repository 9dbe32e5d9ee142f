# Sourced by the device-side A/B scripts (epilogue_ab.sh, ring_ab.sh, layout_ab.sh,
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

#   ab_knob_points LABEL LOG POINTS ENV...    moert-bench-cuda on $NEW under the environment ENV
#                                              (knobs) for each shape:tokens,tokens of POINTS (quoted,
#                                              space-separated), the lines appended to LOG ($R reps)
ab_knob_points() {
  local label=$1 log=$2 points=$3 sp
  shift 3
  for sp in $points; do
    env "$@" MOERT_CUDA_PLUGIN=$NEW timeout 90 $C/bin/moert-bench-cuda --reps $R --shapes ${sp%%:*} \
      --no-mxfp4 --tokens ${sp##*:} --label _$label 2>&1 | grep "T=" | sed "s/\$/ $(ab_at)/" >> "$log"
  done
}

# Variant A/Bs of whole plugins (layout_ab.sh, layout_then_final.sh, repack_ab.sh):
#   ab_variants NAME...       /tmp/variants/new.so (this build) and NAME.so from .carry/variants/NAME.so.xz
#   ab_at                     "[N s]" since this file was sourced
#   ab_variant_tests FILTER LOG [LIMIT_S]
#                             the CUDA tests FILTER names on new.so into LOG; one summary line on
#                             stdout (exit status, counts), then the failures; returns the tests' status
AB_T0=$(date +%s)
ab_at() { echo "  [$(( $(date +%s) - AB_T0 )) s]"; }
ab_variants() {
  mkdir -p /tmp/variants
  cp "$NEW" /tmp/variants/new.so
  local v
  for v in "$@"; do xz -dc ".carry/variants/$v.so.xz" > "/tmp/variants/$v.so"; done
}
ab_variant_tests() {
  MOERT_CUDA_PLUGIN=/tmp/variants/new.so timeout "${3:-150}" $C/bin/moert_cuda_tests --gtest_filter="$1" > "$2" 2>&1
  local rc=$?
  echo "tests: exit $rc $(grep -E 'tests ran|PASSED|FAILED  ' "$2" | tr '\n' ' ') $(ab_at)"
  grep -E "^\[  FAILED|Failure" -A3 "$2" | head -20
  return $rc
}
#   ab_headline_with TESTS_RC NEW_US HEAD_US LOG
#                             the headline (final_call.sh) with new.so when its tests passed
#                             (TESTS_RC 0) and NEW_US < HEAD_US, else with head.so; LOG before and after
ab_headline_with() {
  local pick=head
  [ "$1" = 0 ] && awk -v a="$2" -v b="$3" 'BEGIN{exit !(a < b)}' && pick=new
  echo "new $2 head $3 -> headline with $pick $(ab_at)" >> "$4"
  cat "$4"
  cp /tmp/variants/$pick.so $C/lib/moert/plugins/libmoert-cuda.so
  FINAL_DEADLINE_S=${FINAL_DEADLINE_S:-380} bash scripts/gpu/final_call.sh
  echo "== A/B"; cat "$4"
}

#   ab_knob_tests LOG TESTLOG FILTER LIMIT_S ENV...
#                             the CUDA tests FILTER names on $NEW under the environment ENV (knobs)
#                             into TESTLOG; one summary line (ENV, exit status, counts) and the
#                             failures appended to LOG
ab_knob_tests() {
  local log=$1 tlog=$2 filter=$3 limit=$4
  shift 4
  env "$@" MOERT_CUDA_PLUGIN=$NEW timeout "$limit" $C/bin/moert_cuda_tests --gtest_filter="$filter" > "$tlog" 2>&1
  echo "tests ($*): exit $? $(grep -E 'tests ran|PASSED|FAILED  ' "$tlog" | tr '\n' ' ') $(ab_at)" >> "$log"
  grep -E "^\[  FAILED|Failure" -A3 "$tlog" | head -20 >> "$log"
}
#   ab_begin_log LOG          LOG started with the GPU, its driver and the time
ab_begin_log() {
  echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)" > "$1"
}
#   ab_wgmma_metrics LOG SHAPE TOKENS METRICS ENV...
#                             Nsight Compute's METRICS (comma-separated) of the wgmma kernel's two
#                             launches of one forward (GEMM1, GEMM2) at SHAPE TOKENS on $NEW under the
#                             environment ENV (knobs), clocks and caches left alone, as "metric value"
#                             lines appended to LOG
ab_wgmma_metrics() {
  local log=$1 shape=$2 tokens=$3 metrics=$4 ncu
  shift 4
  ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
  env "$@" MOERT_CUDA_PLUGIN=$NEW timeout 90 "$ncu" --clock-control none --cache-control none \
    --kernel-name regex:grouped_wgmma_kernel --launch-count 2 --csv --metrics "$metrics" \
    $C/bin/moert-bench-cuda --reps 1 --tokens "$tokens" --shapes "$shape" --no-mxfp4 2>/dev/null |
    grep -E '^"[0-9]' | awk -F'","' '{print $(NF-2) " " $NF}' | sed 's/"//g' >> "$log"
}

# Variant A/Bs that end in the headline's benchmark when the variant wins (tile256_call.sh,
# tile384_call.sh, tma_a_call.sh):
#   ab_means LOG              the mean graph µs per label and tokens of LOG's bench lines, appended to LOG
#   ab_mean LOG LABEL TOKENS  the mean graph µs of LOG's lines of LABEL (shape_label) at TOKENS
#   ab_then_headline LOG A B TOKENS TESTS MEMCHECK LIMIT_S
#                             when B's mean at TOKENS is below A's: the CUDA tests TESTS (LIMIT_S),
#                             memcheck on MEMCHECK, then scripts/gpu/bench_only_call.sh without its
#                             unpaused sweep into $OUT; else a line saying so (both into LOG)
ab_means() {
  awk '$2 == "T=" {s[$1 " " $3] += $8; n[$1 " " $3]++} END {for (k in s) printf "%-30s mean graph %8.2f us over %d\n", k, s[k] / n[k], n[k]}' "$1" |
    sort >> "$1"
}
ab_mean() { awk -v l="$2" -v t="$3" '$1 == l && $3 == t {s += $8; n++} END {print s / n}' "$1"; }
ab_then_headline() {
  local log=$1 a b san
  a=$(ab_mean "$log" "$2" "$4")
  b=$(ab_mean "$log" "$3" "$4")
  if ! awk -v a="$a" -v b="$b" 'BEGIN{exit !(b < a)}'; then
    echo "$3 not faster than $2 at $4 tokens ($b against $a us): stop" | tee -a "$log"
    return 0
  fi
  ab_knob_tests "$log" $OUT/variant_tests.log "$5" "$7"
  san=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
  MOERT_CUDA_PLUGIN=$NEW timeout 90 $san --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests \
    --gtest_filter="$6" > $OUT/memcheck.log 2>&1
  echo "memcheck ($6): exit $? $(grep -E 'ERROR SUMMARY|tests ran' $OUT/memcheck.log | tr '\n' ' ') $(ab_at)" >> "$log"
  tail -3 "$log"
  SKIP_NOPAUSE=1 T0=$AB_T0 bash scripts/gpu/bench_only_call.sh
}
