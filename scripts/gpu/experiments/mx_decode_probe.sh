#!/usr/bin/env bash
# Device call: what bounds the one-token MXFP4 GEMVs (gpt-oss), and an A/B of
# this build (.carry/final, label $NEWNAME, default "new") against plugin
# variants carried xz-compressed in .carry/variants/NAME.so.xz.
#  1. SASS opcode mix of the bulk kernel's MXFP4 instance (sass_mix.py) for
#     this build and each variant, and this build's SASS of it into $OUT;
#  2. the MXFP4 numerics tests and the fused-decode bit-identity test, on
#     this build and each variant;
#  3. gpt-oss MXFP4 at 1 token, graph and eager µs, alternating, twice;
#  4. Nsight Compute of a later forward (caches kept): issue and occupancy
#     metrics of each GEMV for this build and each variant, then stall
#     reasons per SASS line for this build (decode_stalls.py).
#   scripts/gpu/experiments/mx_decode_probe.sh base nobr
set -u
C=.carry/final
OUT=${OUT:-gpu-out}
NEWNAME=${NEWNAME:-new}
mkdir -p "$OUT" /tmp/variants
export LD_LIBRARY_PATH=$C/lib
HERE=$(dirname "$0")/..
CUOBJ=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
cp $C/lib/moert/plugins/libmoert-cuda.so /tmp/variants/$NEWNAME.so
for v in "$@"; do xz -dc .carry/variants/$v.so.xz > /tmp/variants/$v.so; done
ALL="$NEWNAME $*"
K=gemv_bulk_kernelI13__nv_bfloat16LNS_12WeightFormatE2ELi1E
echo "== SASS ($K)"
for v in $ALL; do
  "$CUOBJ" -sass /tmp/variants/$v.so > /tmp/variants/$v.sass 2>/dev/null
  echo "-- $v"; python3 "$HERE/sass_mix.py" "$K" 30 < /tmp/variants/$v.sass
done
awk -v k="$K" '/Function :/{p=index($0,k)>0} p' /tmp/variants/$NEWNAME.sass > "$OUT/sass_$NEWNAME.txt"
for v in $ALL; do
  echo "== tests on $v"
  MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 120 $C/bin/moert_cuda_tests \
    --gtest_filter='*mxfp4*:*FusedDecode*:*Graph*:*NonFinite*' 2>&1 | grep -E "numerics.*T=1 |FAILED|PASSED|Failure|tests ran" | tail -14
done
echo "== A/B: gpt-oss MXFP4, 1 token"
for i in 1 2; do
  for v in $ALL; do
    MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 --tokens 1 \
      --reps 30 --label _$v 2>&1 | grep "T="
  done
done
M=gpu__time_duration.sum,sm__inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__warps_active.avg.per_cycle_active,smsp__warps_eligible.avg.per_cycle_active,sm__cycles_active.avg,smsp__cycles_active.avg.pct_of_peak_sustained_elapsed,launch__grid_size,launch__occupancy_limit_shared_mem,launch__registers_per_thread
. "$HERE/ncu_common.sh"
for v in $ALL; do
  echo "== ncu metrics ($v): launches 6-7"
  ncu_mx_gemv_metrics /tmp/variants/$v.so $M
done
echo "== ncu stalls ($NEWNAME)"
MOERT_CUDA_PLUGIN=/tmp/variants/$NEWNAME.so timeout 150 "$NCU" --clock-control none --cache-control none \
  --kernel-name regex:'gemv|combine' --launch-skip 6 --launch-count 2 --section WarpStateStats --section SourceCounters \
  -o /tmp/variants/rep -f $C/bin/moert-bench-cuda --reps 1 --tokens 1 --shapes gptoss --only-mxfp4 > /dev/null 2>&1
"$NCU" -i /tmp/variants/rep.ncu-rep --page source --csv --print-source sass > /tmp/variants/src.csv 2>/dev/null
python3 "$HERE/decode_stalls.py" /tmp/variants/src.csv | cut -c1-180 | head -64
