#!/usr/bin/env bash
# Runs on the device machine: the routing top-k by warp reductions and the
# many-block sort of large batches, against the build before them, same call.
# $C is the packed new build (scripts/gpu/pack_final.sh), $OLD the plugin of
# the build before. Writes $OUT/tests.txt, $OUT/ab.txt, $OUT/kt_*.txt.
#   OLD=.carry/base/libmoert-cuda.so scripts/gpu/experiments/route_sort_ab.sh
set -u
HERE=$(dirname "$0")/..
. "$HERE/ab_common.sh"
OLD=${OLD:-.carry/base/libmoert-cuda.so}
echo "# H200 $(date -u +%H:%M) UTC, scripts/gpu/experiments/route_sort_ab.sh: old = the build before, new = warp-reduction top-k + many-block sort; sm0 = new with MOERT_CUDA_SORT_MULTI=0" > $OUT/ab.txt
ab_all_tests
for i in 1 2; do
  ab_run old $OLD --shapes qwen3 --tokens 1,16,64,4096,16384 --no-mxfp4
  ab_run new $NEW --shapes qwen3 --tokens 1,16,64,4096,16384 --no-mxfp4
done
MOERT_CUDA_SORT_MULTI=0 ab_run sm0 $NEW --shapes qwen3 --tokens 4096,16384 --no-mxfp4
ab_run old $OLD --shapes gptoss --tokens 1,4096,16384 --no-mxfp4
ab_run new $NEW --shapes gptoss --tokens 1,4096,16384 --no-mxfp4
MOERT_CUDA_SORT_MULTI=0 ab_run sm0 $NEW --shapes gptoss --tokens 4096,16384 --no-mxfp4
ab_run old $OLD --shapes gptoss --tokens 1 --only-mxfp4
ab_run new $NEW --shapes gptoss --tokens 1 --only-mxfp4
grep -v "^#" $OUT/ab.txt | awk '{print $3, $1, $5, $8}' | sort -s -k1,1n | column -t
CACHE=none LAUNCHES=12 bash "$HERE/kernel_times.sh" qwen3:1 qwen3:16 > $OUT/kt_new_small.txt 2>&1
CACHE=none LAUNCHES=12 bash "$HERE/kernel_times.sh" qwen3:16384 gptoss:4096 > $OUT/kt_new_large.txt 2>&1
grep -E "==|route|rout|sort" $OUT/kt_new_*.txt | cut -c1-110 | head -40
rm -f $OUT/ncu_*.csv
