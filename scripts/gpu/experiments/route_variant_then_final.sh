#!/usr/bin/env bash
# Device call (repo root; this build packed by scripts/gpu/pack_final.sh into
# .carry/final, the plugin of the commit before it in .carry/variants/head.so.xz):
# the routing and route-and-sort kernels built once per routing variant
# (route_variant, routing_device.cuh) against one instance holding all four.
#   1. SASS instruction counts of those kernels in both plugins;
#   2. the routing, fused-decode, graph and non-finite tests on this build;
#   3. qwen3 at 16 and 64 tokens, graph µs, this build against head,
#      alternating, three times; warm per-kernel times of qwen3 16 on this build;
#   4. the headline (final_call.sh) with this build's plugin when its tests
#      passed and its qwen3 16-token median beat head's, else with head's.
# The A/B log goes to stdout (final_call.sh writes the 8 files that come back).
set -u
C=.carry/final
L=/tmp/route_variant_ab.txt
. scripts/gpu/ab_common.sh
at() { ab_at; }
ab_variants head
OBJ=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
for v in new head; do
  $OBJ -sass /tmp/variants/$v.so 2>/dev/null | awk -v v=$v '/Function :/{name=$3; next} /^ +\/\*[0-9a-f]+\*\//{n[name]++}
    END{for (k in n) if (k ~ /route_sort_kernel|routing_kernel/) print v, n[k], k}' >> $L
done
ab_variant_tests '*RoutingTies*:*grouped*:*FusedDecode*:*NonFinite*:*CustomRouting*:*Eplb*:*bf16_softmax*:*relu2*:*Graph*:*expert_map*' \
  /tmp/route_variant_tests.log 120 >> $L
TESTS_RC=$?
run() {  # run VARIANT: qwen3 16 and 64 tokens, graph µs lines
  MOERT_CUDA_PLUGIN=/tmp/variants/$1.so timeout 60 $C/bin/moert-bench-cuda --reps 30 --shapes qwen3 --no-mxfp4 \
    --tokens 16,64 --label _$1 2>&1 | grep "T=" | sed "s/\$/ $(at)/" >> $L
}
for i in 1 2 3; do run new; run head; done
med() { grep "qwen3_$1 *T= *$2 " $L | sed 's/.*graph *\([0-9.]*\) us.*/\1/' | sort -g | sed -n 2p; }
echo "medians 16 tokens: new $(med new 16) head $(med head 16); 64 tokens: new $(med new 64) head $(med head 64) $(at)" >> $L
MOERT_CUDA_PLUGIN=/tmp/variants/new.so OUT=/tmp/kt C=$C CACHE=none LAUNCHES=8 timeout 60 bash scripts/gpu/kernel_times.sh qwen3:16 >> $L 2>&1
ab_headline_with "$TESTS_RC" "$(med new 16)" "$(med head 16)" $L
