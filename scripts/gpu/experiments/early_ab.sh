#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final): the decode GEMV2's pre-wait L2 prefetch
# (GemmParams::pre_wait_l2_bytes, MOERT_CUDA_GEMV2_EARLY_KB KB a block) at
# qwen3's 16 tokens, 0 / 24 / 48 / 96 KB alternating $ROUNDS times (default
# 2), after the numerics, graph and decode tests with 48 KB. Log:
# $OUT/early_ab.txt (also printed). The run of 2026-12-03 also swept
# MOERT_CUDA_GEMM2_EARLY_KB (the same prefetch before the mma.sync kernel's
# GEMM2) at 64-256 tokens; that knob was dropped (slower) and is not on main.
set -u
C=.carry/final
L=$OUT/early_ab.txt
R=10
. scripts/gpu/ab_common.sh
ab_begin_log $L
ab_knob_tests $L $OUT/early_tests.log '*CudaNumerics*:*Graph*:*rows*:*gemv*:*Decode*:*expert_map*' 200 \
  MOERT_CUDA_GEMV2_EARLY_KB=48
for i in $(seq ${ROUNDS:-2}); do
  for kb in 0 24 48 96; do ab_knob_points v$kb $L "qwen3:16" MOERT_CUDA_GEMV2_EARLY_KB=$kb; done
done
awk '$2 == "T=" {k = $1 " T=" $3; s[k] += $8; n[k]++} END {for (k in s) printf "%-24s mean graph %8.1f us over %d\n", k, s[k] / n[k], n[k]}' $L | sort >> $L
cat $L
