#!/usr/bin/env bash
# Device call (repo root; this build packed by scripts/gpu/pack_final.sh into
# .carry/final, the plugin of the commit before it in .carry/variants/head.so.xz):
#   1. the MXFP4, NaN-scale, fused-decode and routing tests on this build;
#   2. gpt-oss MXFP4 at one token, graph µs, this build against head,
#      alternating, three times, and the token row after the routing
#      (MOERT_CUDA_FUSED_ROW_LATE=1) twice; printed at the start and the end;
#   3. the headline (final_call.sh) with this build's plugin when its tests
#      passed and its median beat head's, else with head's (named in the log).
set -u
C=.carry/final
L=/tmp/layout_ab.txt  # final_call.sh writes the 8 files the device tool brings back: this goes to stdout
. scripts/gpu/ab_common.sh
at() { ab_at; }
ab_variants head
ab_variant_tests '*mxfp4*:*Mxfp*:*MXFP4*:*FusedDecode*:*RoutingTies*:*NonFinite*:*grouped*' /tmp/layout_tests.log 100 >> $L
TESTS_RC=$?
run() {  # run VARIANT LABEL (env from the caller): one graph µs line
  echo "$(MOERT_CUDA_PLUGIN=/tmp/variants/$1.so timeout 60 $C/bin/moert-bench-cuda --reps 30 --shapes gptoss \
    --only-mxfp4 --tokens 1 --label _$2 2>&1 | grep "T=") $(at)" >> $L
}
for i in 1 2 3; do run new new; run head head; done
for i in 1 2; do MOERT_CUDA_FUSED_ROW_LATE=1 run new rowlate; done
med() { grep "_$1 " $L | sed 's/.*graph *\([0-9.]*\) us.*/\1/' | sort -g | sed -n 2p; }
ab_headline_with "$TESTS_RC" "$(med new)" "$(med head)" $L
