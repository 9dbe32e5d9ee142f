#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final): the wgmma GEMM's epilogue through shared memory
# (staged_epilogue.cuh; MOERT_CUDA_WG_STAGED bits: 1 the plain stores, 2 the
# gated ones), at the points the wgmma kernel runs, staged in this build and
# in .carry/variants/nosetmax2.so.xz (this build compiled with
# -DMOERT_WG_SETMAXNREG=0), against the direct stores (=0) of
# .carry/variants/$BASE.so.xz (default nosetmax: main's kernels).
#   1. the wgmma, graph, tile and expert-map tests on this build;
#   2. graph µs of each, alternating, $ROUNDS times (default 2);
#   3. with NCU_TOO set, Nsight Compute durations of qwen3 4096's two GEMMs
#      with STAGED=3 / 0.
# Log: $OUT/staged_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/staged_ab.txt
R=10
. scripts/gpu/ab_common.sh
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)  $(date -u)" > $L
B=${BASE:-nosetmax}
ab_variants $B nosetmax2  # /tmp/variants/new.so (which ab_variant_tests runs), $B.so, nosetmax2.so
ab_variant_tests '*Wgmma*:*wgmma*:*Graph*:*BadDecode*:*tile128*:*expert_map*:*bf16_softmax*' $OUT/staged_tests.log 150 >> $L
variant() { ab_knob_points "$1" $L "${POINTS:-qwen3:1024,4096,16384 mixtral:256,1024 gptoss:4096,16384}" "${@:2}"; }
for i in $(seq ${ROUNDS:-2}); do
  NEW=/tmp/variants/$B.so variant base MOERT_CUDA_WG_STAGED=0
  variant store MOERT_CUDA_WG_STAGED=1
  variant both MOERT_CUDA_WG_STAGED=3
  NEW=/tmp/variants/nosetmax2.so variant store_nsm MOERT_CUDA_WG_STAGED=1
  NEW=/tmp/variants/nosetmax2.so variant both_nsm MOERT_CUDA_WG_STAGED=3
done
[ -n "${NCU_TOO:-}" ] || { cat $L; exit 0; }
for s in 3 0; do
  echo "== qwen3 4096, MOERT_CUDA_WG_STAGED=$s: GEMM1, GEMM2 ns $(ab_at)" >> $L
  ab_wgmma_metrics $L qwen3 4096 gpu__time_duration.sum,lts__t_bytes.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed \
    MOERT_CUDA_WG_STAGED=$s
done
cat $L
