#!/usr/bin/env bash
# Runs on the device machine: the one-token GEMVs sharing their code (one
# bulk-kernel instance for GEMV1 and GEMV2; one loop body for both phases of
# the fused kernel) against the build before, same call. $C is the packed new
# build, $OLD the plugin before. Writes $OUT/tests.txt, $OUT/ab.txt, $OUT/stalls.txt.
#   OLD=.carry/base2/libmoert-cuda.so scripts/gpu/experiments/icache_ab.sh
set -u
HERE=$(dirname "$0")/..
R=${R:-30}
. "$HERE/ab_common.sh"
OLD=${OLD:-.carry/base2/libmoert-cuda.so}
echo "# H200 $(date -u +%H:%M) UTC, scripts/gpu/experiments/icache_ab.sh: old = the build before, new = shared GEMV code" > $OUT/ab.txt
ab_all_tests
for i in 1 2; do
  for pl in old new; do
    P=$OLD; [ $pl = new ] && P=$NEW
    ab_run $pl $P --shapes qwen3,gptoss --tokens 1 --no-mxfp4
    ab_run $pl $P --shapes gptoss --tokens 1 --only-mxfp4
  done
done
ab_run old $OLD --shapes mixtral --tokens 1 --no-mxfp4
ab_run new $NEW --shapes mixtral --tokens 1 --no-mxfp4
grep -v "^#" $OUT/ab.txt | awk '{print $1, $3, $5, $8}' | sort -s -k1,1
LINES_PER=14 bash "$HERE/decode_stalls_warm.sh" qwen3 > $OUT/stalls.txt 2>&1
grep -E "reasons|Duration" $OUT/stalls.txt | cut -c1-160
