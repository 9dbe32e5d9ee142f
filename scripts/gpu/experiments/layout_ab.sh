#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final, the previous plugin in .carry/variants/head.so.xz): the
# plugin's MXFP4 scale layout (biased bytes, NaN blocks as Inf * 0) and the
# fused kernel's per-pair scale rows, against the bit order alone (head).
# Logs into $OUT/layout_ab.txt as it goes:
#   - the MXFP4, NaN-scale, fused-decode, routing, graph, non-finite and
#     bulk tests on this build;
#   - gpt-oss MXFP4 at one token, graph µs, this build against head,
#     alternating, three times; 16 tokens once each;
#   - (MOERT_CUDA_FUSED_ROW_LATE was removed after the ~13:12 UTC call)
#   - the token row loaded after the routing (MOERT_CUDA_FUSED_ROW_LATE=1)
#     against before it, gpt-oss MXFP4 and bf16, with time stamps;
#   - warm per-kernel times (Nsight Compute, caches kept) of qwen3 16 / 64 tokens.
set -u
C=.carry/final
. scripts/gpu/ab_common.sh
L=$OUT/layout_ab.txt
at() { ab_at; }
ab_variants head
ab_variant_tests '*mxfp4*:*Mxfp*:*MXFP4*:*FusedDecode*:*RoutingTies*:*NonFinite*:*grouped*:*Graph*:*Bulk*:*bulk*' \
  $OUT/tests.log ${LAYOUT_TESTS_S:-150} >> $L
run() {  # run VARIANT LABEL ARGS... (env from the caller)
  local v=$1 l=$2; shift 2
  echo "$(MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 60 $C/bin/moert-bench-cuda --reps 30 "$@" --label _$l 2>&1 |
    grep "T=") $(at)" >> $L
}
MX="--shapes gptoss --only-mxfp4"
for i in 1 2 3; do run new new $MX --tokens 1; run head head $MX --tokens 1; done
run new new $MX --tokens 16
run head head $MX --tokens 16
for i in 1 2; do
  MOERT_CUDA_FUSED_ROW_LATE=1 run new rowlate $MX --tokens 1
  run new new $MX --tokens 1
  MOERT_CUDA_FUSED_ROW_LATE=1 run new rowlate --shapes gptoss --no-mxfp4 --tokens 1
  run new new --shapes gptoss --no-mxfp4 --tokens 1
done
MOERT_CUDA_FUSED_TRACE=$OUT/trace_new.txt run new trace $MX --tokens 1
MOERT_CUDA_FUSED_ROW_LATE=1 MOERT_CUDA_FUSED_TRACE=$OUT/trace_rowlate.txt run new trace_rowlate $MX --tokens 1
MOERT_CUDA_FUSED_ROW_LATE=1 MOERT_CUDA_FUSED_TRACE=$OUT/trace_rowlate_bf16.txt run new trace_rowlate --shapes gptoss --no-mxfp4 --tokens 1
cat $L
C=$C CACHE=none LAUNCHES=16 timeout 150 bash scripts/gpu/kernel_times.sh qwen3:16 qwen3:64 > $OUT/kernel_times_warm.txt 2>&1
echo "kernel_times done $(at)" >> $L
tail -30 $OUT/kernel_times_warm.txt
