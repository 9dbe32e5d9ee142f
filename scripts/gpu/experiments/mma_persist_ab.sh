#!/usr/bin/env bash
# Device call (repo root, a build with
# bench/results/h200-2026-12-03c/mma_persist_stages4.patch applied, packed by
# scripts/gpu/pack_final.sh into .carry/final; the knobs are not on main): the mma.sync kernel's persistent blocks
# (MOERT_CUDA_MMA_PERSIST=1) and 4-stage 64-row tile (MOERT_CUDA_MMA_STAGES4=1),
# each alone and both, against neither, alternating $ROUNDS times (default 2)
# at the points that take that kernel (dense weights at 64-256 tokens, and
# gpt-oss MXFP4 from 64 tokens; mixtral in the first round only: its weights
# take ~20 s to set up). Before that, the CUDA numerics and graph tests
# under the knobs, with the wgmma kernel off once so that the persistent form
# also runs the 128-row tiles, and memcheck on a few numerics cases.
# Log: $OUT/mma_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/mma_ab.txt  # bench/results/h200-2026-12-03c/mma_ab.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
T='*CudaNumerics*T37*:*CudaNumerics*T200*:*CudaNumerics*T300*'
ab_knob_tests $L $OUT/mma_tests_ps.log "$T:*Graph*:*Eplb*" 120 MOERT_CUDA_MMA_PERSIST=1 MOERT_CUDA_MMA_STAGES4=1
ab_knob_tests $L $OUT/mma_tests_pw.log "$T" 90 MOERT_CUDA_MMA_PERSIST=1 MOERT_CUDA_WGMMA=0
SAN=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
MOERT_CUDA_MMA_PERSIST=1 MOERT_CUDA_MMA_STAGES4=1 MOERT_CUDA_PLUGIN=$NEW timeout 150 "$SAN" --tool memcheck \
  $C/bin/moert_cuda_tests --gtest_filter="$T" \
  > $OUT/mma_memcheck.log 2>&1
echo "memcheck (persist, stages4): exit $? $(grep -E 'ERROR SUMMARY|PASSED|FAILED  ' $OUT/mma_memcheck.log | tr '\n' ' ') $(ab_at)" >> $L
cat $L
mx_points() {  # LABEL ENV...: gpt-oss MXFP4 at 64 tokens (moert-bench-cuda runs MXFP4 up to 64; the 1024 is dropped)
  local label=$1
  shift
  env "$@" MOERT_CUDA_PLUGIN=$NEW timeout 90 $C/bin/moert-bench-cuda --reps $R --shapes gptoss --only-mxfp4 \
    --tokens 64,1024 --label _$label 2>&1 | grep "T=" | sed "s/\$/ $(ab_at)/" >> "$L"
}
for i in $(seq ${ROUNDS:-2}); do
  for v in 00 10 01 11; do
    env_v="MOERT_CUDA_MMA_PERSIST=${v:0:1} MOERT_CUDA_MMA_STAGES4=${v:1:1}"
    ab_knob_points v$v $L "qwen3:64,256 gptoss:64,256$([ $i = 1 ] && echo ' mixtral:64')" $env_v
    mx_points v$v $env_v
  done
done
awk '$2 == "T=" {k = $1 " T=" $3; s[k] += $8; n[k]++} END {for (k in s) printf "%-28s mean graph %8.1f us over %d\n", k, s[k] / n[k], n[k]}' $L | sort >> $L
cat $L
