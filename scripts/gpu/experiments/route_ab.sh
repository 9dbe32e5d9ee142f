#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final). Logs into $OUT/route_ab.txt as it goes:
#   - the whole CUDA test suite (the routing from registers is in every
#     routing kernel);
#   - the fused kernel's time stamps, routing steps included (route_begin,
#     logits, scores, picked), gpt-oss bf16 and MXFP4;
#   - one-token A/B, graph µs: gpt-oss MXFP4 fused (now auto) against two
#     kernels (cuda.fused_gemv=off), twice; gpt-oss bf16, mixtral, qwen3.
set -u
C=.carry/final
L=$OUT/route_ab.txt
T00=$(date +%s)
at() { echo "  [$(( $(date +%s) - T00 )) s]"; }
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
timeout 220 $C/bin/moert_cuda_tests > $OUT/cuda_tests.log 2>&1
echo "tests: exit $? $(tail -3 $OUT/cuda_tests.log | tr '\n' ' ') $(at)" >> $L
grep -E "^\[  FAILED|Failure" -A3 $OUT/cuda_tests.log | head -20 >> $L
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
run() {  # run LABEL SHAPE-ARGS... (env from the caller)
  local l=$1; shift
  echo "$(timeout 40 $B "$@" --label "_$l" 2>&1 | grep "T=") $(at)" >> $L
}
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt run trace --shapes gptoss --no-mxfp4
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt run trace --shapes gptoss --only-mxfp4
for i in 1 2; do
  run fused --shapes gptoss --only-mxfp4
  run two --shapes gptoss --only-mxfp4 --option cuda.fused_gemv=off
done
run auto --shapes mixtral --no-mxfp4
run auto --shapes qwen3 --no-mxfp4
echo "done $(at)" >> $L
cat $L
cat $OUT/trace.txt
