#!/usr/bin/env bash
# Device call (repo root, a build with
# bench/results/h200-2026-12-03c/fused_wait_l2.patch applied, packed by
# scripts/gpu/pack_final.sh into .carry/final; the knob is not on main;
# log of 2026-12-03: fused_wait_l2_ab.txt there): the fused one-token kernel's L2 prefetch of GEMV2's weights
# while a block waits at the grid barrier (MOERT_CUDA_FUSED_WAIT_L2, items a
# warp; default 64 = its whole run past the ring), 0 / 4 / 64, alternating,
# ROUNDS times (default 2) at one token: gpt-oss bf16 and MXFP4, mixtral once.
# First the fused, trace, one-token and graph tests with the default. Then,
# when the default beat 0 by at least 1% at gpt-oss bf16 and was not 1% slower
# elsewhere, final_call.sh on this build (its 8 files fill $OUT, so this log
# goes to stdout only, before and after it).
set -u
C=.carry/final
L=/tmp/fused_wait_l2_ab.txt
R=30
. scripts/gpu/ab_common.sh
ab_begin_log $L
ab_knob_tests $L /tmp/wait_l2_tests.log '*FusedDecode*:*FusedTrace*:*T1*:*Graph*:*Mxfp4Nan*' 120 MOERT_CUDA_FUSED_WAIT_L2=64
one_token() {  # LABEL SHAPE ARGS...: graph and eager µs at one token under MOERT_CUDA_FUSED_WAIT_L2=${LABEL#v}
  local label=$1 shape=$2
  shift 2
  MOERT_CUDA_FUSED_WAIT_L2=${label#v} MOERT_CUDA_PLUGIN=$NEW timeout 60 $C/bin/moert-bench-cuda --reps $R \
    --shapes $shape --tokens 1 --label _$label "$@" 2>&1 | grep "T=" | sed "s/\$/ $(ab_at)/" >> $L
}
for i in $(seq ${ROUNDS:-2}); do
  for v in 0 4 64; do
    one_token v$v gptoss --no-mxfp4
    one_token v$v gptoss --only-mxfp4
    [ $i = 1 ] && one_token v$v mixtral --no-mxfp4
  done
done
awk '$2 == "T=" {k = $1; s[k] += $8; n[k]++} END {for (k in s) printf "%-22s mean graph %8.2f us over %d\n", k, s[k] / n[k], n[k]}' $L |
  sort >> $L
cat $L
mean() { awk -v k="$1" '$1 == k && $2 == "mean" {print $4}' $L; }
ok=1
for k in gptoss_v64 gptoss_v0 gptoss_mxfp4_v64 gptoss_mxfp4_v0 mixtral_v64 mixtral_v0; do [ -n "$(mean $k)" ] || ok=0; done
if [ $ok = 1 ] && grep -q "tests (MOERT_CUDA_FUSED_WAIT_L2=64): exit 0" $L && awk -v a="$(mean gptoss_v64)" -v b="$(mean gptoss_v0)" -v c="$(mean gptoss_mxfp4_v64)" -v d="$(mean gptoss_mxfp4_v0)" \
  -v e="$(mean mixtral_v64)" -v f="$(mean mixtral_v0)" 'BEGIN{exit !(a < 0.99 * b && c < 1.01 * d && e < 1.01 * f)}'; then
  echo "default (64) kept: the headline with it $(ab_at)" | tee -a $L
  FINAL_DEADLINE_S=${FINAL_DEADLINE_S:-330} bash scripts/gpu/final_call.sh
  echo "== A/B"; cat $L
else
  echo "default (64) not better by 1%: no headline $(ab_at)" | tee -a $L
fi
