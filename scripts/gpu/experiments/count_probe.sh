#!/usr/bin/env bash
# Device call: an instruction budget of the one-token GEMVs and an A/B.
#  1. the bulk-kernel tests (MXFP4, fused decode, graphs, non-finite) on this
#     build (.carry/final, label "new");
#  2. A/B at one token, graph and eager µs, alternating, twice: this build
#     against the variants carried in .carry/variants/NAME.so.xz, for
#     gpt-oss MXFP4, gpt-oss bf16 and qwen3;
#  3. pairs per warp forced (cuda.gemv_pairs_per_warp) for gpt-oss MXFP4;
#  4. Nsight Compute issue metrics of the MXFP4 GEMVs per variant;
#  5. per-SASS-line executed instructions and warp samples (sass_counts.py)
#     of this build's one-token kernels, MXFP4 and bf16, into $OUT as TSV.
#   scripts/gpu/experiments/count_probe.sh base hint
set -u
HERE=$(dirname "$0")/..
. "$HERE/ncu_common.sh"
. "$HERE/variants_common.sh"
unpack_variants "$@"
echo "== tests (new)"
MOERT_CUDA_PLUGIN=/tmp/variants/new.so timeout 150 $C/bin/moert_cuda_tests \
  --gtest_filter='*mxfp4*:*Mxfp*:*FusedDecode*:*Graph*:*NonFinite*:*Bulk*:*bulk*' 2>&1 |
  grep -E "FAILED|PASSED|Failure|tests ran" | tail -8 | tee $OUT/tests.txt
echo "== A/B, 1 token" | tee $OUT/ab.txt
for i in 1 2; do
  for v in $ALL; do
    for a in "--shapes gptoss --only-mxfp4" "--shapes gptoss --no-mxfp4" "--shapes qwen3 --no-mxfp4"; do
      MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $C/bin/moert-bench-cuda $a --tokens 1 \
        --reps 30 --label _$v 2>&1 | grep "T=" | tee -a $OUT/ab.txt
    done
  done
done
echo "== pairs per warp (new, MXFP4 1 token)" | tee -a $OUT/ab.txt
for ppw in 2 3 5 6 8; do
  MOERT_CUDA_PLUGIN=/tmp/variants/new.so timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 --tokens 1 \
    --reps 30 --label _ppw$ppw --option cuda.gemv_pairs_per_warp=$ppw 2>&1 | grep "T=" | tee -a $OUT/ab.txt
done
M=gpu__time_duration.sum,sm__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__warps_active.avg.per_cycle_active,launch__grid_size,launch__registers_per_thread,launch__occupancy_limit_shared_mem
for v in $ALL; do
  echo "== ncu metrics ($v)" | tee -a $OUT/ncu.txt
  ncu_mx_gemv_metrics /tmp/variants/$v.so $M | tee -a $OUT/ncu.txt
done
for pt in mxfp4 gptoss; do
  if [ $pt = mxfp4 ]; then A="--shapes gptoss --only-mxfp4"; else A="--shapes gptoss --no-mxfp4"; fi
  MOERT_CUDA_PLUGIN=/tmp/variants/new.so timeout 150 "$NCU" --clock-control none --cache-control none \
    --kernel-name regex:'gemv|combine' --launch-skip 6 --launch-count 2 --section WarpStateStats --section SourceCounters \
    -o /tmp/variants/rep_$pt -f $C/bin/moert-bench-cuda --reps 1 --tokens 1 $A > /dev/null 2>&1
  "$NCU" -i /tmp/variants/rep_$pt.ncu-rep --page source --csv --print-source sass > /tmp/variants/src_$pt.csv 2>/dev/null
  echo "== SASS counts ($pt)"
  python3 "$HERE/sass_counts.py" /tmp/variants/src_$pt.csv > $OUT/counts_$pt.tsv
  ls -la $OUT/counts_$pt.tsv
done
