#!/usr/bin/env bash
# Device call (repo root, this build packed by scripts/gpu/pack_final.sh into
# .carry/final): the fused one-token kernel's even split of both phases over a
# one-wave grid (MOERT_CUDA_FUSED_EVEN=1, a tuning knob) against the default
# plan, at gpt-oss bf16 one token, alternating $ROUNDS times (default 3), after
# the fused, trace, one-token and graph tests with the knob set. Measured for
# MXFP4 on 2026-12-02 (docs/cuda-backend.md), not for bf16 until this script.
# Log: $OUT/fused_even_ab.txt (also printed).
set -u
C=.carry/final
L=$OUT/fused_even_ab.txt
R=30
. scripts/gpu/ab_common.sh
ab_begin_log $L
ab_knob_tests $L $OUT/fused_even_tests.log '*FusedDecode*:*FusedTrace*:*T1*:*Graph*' 90 MOERT_CUDA_FUSED_EVEN=1
for i in $(seq ${ROUNDS:-3}); do
  ab_knob_points plan $L "gptoss:1" MOERT_CUDA_FUSED_EVEN=0
  ab_knob_points even $L "gptoss:1" MOERT_CUDA_FUSED_EVEN=1
done
awk '$2 == "T=" {s[$1] += $8; n[$1]++} END {for (k in s) printf "%-16s mean graph %7.2f us over %d\n", k, s[k] / n[k], n[k]}' $L |
  sort >> $L
cat $L
