#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final): the wgmma GEMM's work items taken in order from a counter
# (ItemFeed, grouped_gemm_sm90.cu) against the static assignment, with and
# without an evict_last hint on the A rows alone, at the large points.
#   1. the wgmma, graph, tile, sort and expert-map tests on this build;
#   2. graph µs of each variant (environment knobs of the same plugin),
#      alternating, $ROUNDS times (default 2);
#   3. DRAM bytes and L2 hit rate of gpt-oss 4096's GEMMs, dynamic and static.
# Log: $OUT/sched_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/sched_ab.txt
R=10
. scripts/gpu/ab_common.sh
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)" > $L
ab_variants  # /tmp/variants/new.so, which ab_variant_tests runs
ab_variant_tests '*wgmma*:*Graph*:*tile128*:*many_block*:*expert_map*:*bf16_softmax*' $OUT/sched_tests.log 150 >> $L
variant() { ab_knob_points "$1" $L "qwen3:1024,4096,16384 gptoss:4096,16384 mixtral:1024,4096" "${@:2}"; }  # variant LABEL ENV...
for i in $(seq ${ROUNDS:-2}); do
  variant dyn MOERT_CUDA_WG_DYN=1
  variant static MOERT_CUDA_WG_DYN=0
  variant dyn_h2 MOERT_CUDA_WG_DYN=1 MOERT_CUDA_WG_HINTS=2
  variant static_h2 MOERT_CUDA_WG_DYN=0 MOERT_CUDA_WG_HINTS=2
  variant dyn_g8 MOERT_CUDA_WG_DYN=1 MOERT_CUDA_WG_GROUP=8
done
for d in 1 0; do
  echo "== gptoss 4096, MOERT_CUDA_WG_DYN=$d: GEMM1, GEMM2 (dram bytes read, L2 hit %, ns) $(ab_at)" >> $L
  ab_wgmma_metrics $L gptoss 4096 dram__bytes_read.sum,lts__t_sector_hit_rate.pct,gpu__time_duration.sum MOERT_CUDA_WG_DYN=$d
done
cat $L
