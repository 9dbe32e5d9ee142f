#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final). Logs into $OUT/evict_ab.txt as it goes (each bench process
# spends ~15 s making the weights, so the list is short):
#   - the fused, one-token and graph tests, with and without the knob;
#   - one-token A/B, graph µs: the bulk GEMVs' weights streamed with an
#     evict-first L2 hint (MOERT_CUDA_GEMV_EVICT_FIRST=1, a knob of the build
#     it measured, ~05:40 UTC 2026-12-02; removed after it, the fused kernel
#     keeps the hint always, so on main the knob does nothing) against without,
#     gpt-oss bf16 (fused kernel) and MXFP4 (two kernels), mixtral, qwen3;
#   - the fused kernel's time stamps (with the new `picked` event) for
#     gpt-oss bf16 and MXFP4 (fused forced on), both ways.
set -u
C=.carry/final
L=$OUT/evict_ab.txt
T00=$(date +%s)
at() { echo "  [$(( $(date +%s) - T00 )) s]"; }
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
T=$C/bin/moert_cuda_tests
F='CudaPlugin.Fused*:CudaPlugin.*OneToken*:CudaPlugin.GraphCapture*:CudaPlugin.*Mxfp4*'
timeout 120 $T --gtest_filter="$F" > $OUT/t_base.txt 2>&1
echo "tests: exit $? $(grep -E '^\[  (PASSED|FAILED)' $OUT/t_base.txt | tr '\n' ' ') $(at)" >> $L
MOERT_CUDA_GEMV_EVICT_FIRST=1 timeout 120 $T --gtest_filter="$F" > $OUT/t_evict.txt 2>&1
echo "tests (evict): exit $? $(grep -E '^\[  (PASSED|FAILED)' $OUT/t_evict.txt | tr '\n' ' ') $(at)" >> $L
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
run() {  # run LABEL SHAPE-ARGS... (env from the caller)
  local l=$1; shift
  echo "$(timeout 40 $B "$@" --label "_$l" 2>&1 | grep "T=") $(at)" >> $L
}
ev() { MOERT_CUDA_GEMV_EVICT_FIRST=1 "$@"; }
for i in 1 2; do
  run base --shapes gptoss --no-mxfp4
  ev run evict --shapes gptoss --no-mxfp4
  run base --shapes gptoss --only-mxfp4
  ev run evict --shapes gptoss --only-mxfp4
done
run base --shapes mixtral --no-mxfp4
ev run evict --shapes mixtral --no-mxfp4
run base --shapes qwen3 --no-mxfp4
ev run evict --shapes qwen3 --no-mxfp4
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt run trace_base --shapes gptoss --no-mxfp4
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt ev run trace_evict --shapes gptoss --no-mxfp4
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt run trace_base --shapes gptoss --only-mxfp4 --option cuda.fused_gemv=on
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt ev run trace_evict --shapes gptoss --only-mxfp4 --option cuda.fused_gemv=on
echo "done $(at)" >> $L
cat $L
cat $OUT/trace.txt
