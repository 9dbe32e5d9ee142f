#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final, the previous plugin in .carry/variants/base.so.xz): the MXFP4
# weights in the plugin's repacked bit order (dequant.cuh, mxfp4_repack_word;
# 11 instructions decode 8 values instead of 15). Logs into $OUT/repack_ab.txt:
#   - the MXFP4, fused-decode, routing, graph and non-finite tests on this build;
#   - gpt-oss MXFP4 at one token, graph µs, this build against base,
#     alternating, three times; 16, 64 and 1024 tokens once each;
#   - this build's fused-kernel time stamps for gpt-oss MXFP4 (trace.txt).
set -u
C=.carry/final
. scripts/gpu/ab_common.sh
L=$OUT/repack_ab.txt
at() { ab_at; }
ab_variants base
ab_variant_tests '*mxfp4*:*Mxfp*:*MXFP4*:*FusedDecode*:*RoutingTies*:*NonFinite*:*grouped*:*CustomRouting*:*Graph*' \
  $OUT/tests.log ${REPACK_TESTS_S:-150} >> $L
run() {  # run VARIANT TOKENS
  echo "$(MOERT_CUDA_PLUGIN=/tmp/variants/$1.so timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 \
    --tokens $2 --reps 30 --label _$1 2>&1 | grep "T=") $(at)" >> $L
}
for i in 1 2 3; do run new 1; run base 1; done
run new 16,64,1024
run base 16,64,1024
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt run new 1
cat $L
