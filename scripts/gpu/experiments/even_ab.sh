#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final, variant `base` = main before the change in
# .carry/variants/base.so.xz). Logs into $OUT/even_ab.txt as it goes (each
# bench process spends ~15 s making the weights, so keep the list short):
#   - the one-token tests with runs of ppw and with the even-split knobs;
#   - one-token A/B, graph µs: the fused kernel's barrier on the driver's grid
#     workspace (this build, no memset node) against a workspace word zeroed
#     by a memset (base); the even split (MOERT_CUDA_FUSED_EVEN / EVEN1 /
#     EVEN2) against runs of ppw (EVEN1 / EVEN2, in the two-kernel path, were
#     removed after this call: no faster, and a spill);
#   - the fused kernel's time stamps for gpt-oss MXFP4 fused, runs / even.
set -u
C=.carry/final
L=$OUT/even_ab.txt
T00=$(date +%s)
at() { echo "  [$(( $(date +%s) - T00 )) s]"; }
. "$(dirname "$0")/../variants_common.sh"
unpack_variants base
export LD_LIBRARY_PATH=$C/lib
T=$C/bin/moert_cuda_tests
F='CudaPlugin.Fused*:CudaPlugin.UnknownOption*:CudaPlugin.BadDecode*:CudaPlugin.GraphCapture*'
MOERT_CUDA_PLUGIN=/tmp/variants/new.so timeout 90 $T --gtest_filter="$F" > $OUT/t_runs.txt 2>&1
echo "tests (runs of ppw): exit $? $(grep -E '^\[  (PASSED|FAILED)' $OUT/t_runs.txt | tr '\n' ' ') $(at)" >> $L
MOERT_CUDA_PLUGIN=/tmp/variants/new.so MOERT_CUDA_FUSED_EVEN=1 MOERT_CUDA_EVEN1=32 MOERT_CUDA_EVEN2=32 timeout 60 $T \
  --gtest_filter='CudaPlugin.Fused*' > $OUT/t_even.txt 2>&1
echo "tests (even): exit $? $(grep -E '^\[  (PASSED|FAILED)' $OUT/t_even.txt | tr '\n' ' ') $(at)" >> $L
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
run() {  # run VARIANT LABEL SHAPE-ARGS... (env from the caller)
  local v=$1 l=$2; shift 2
  echo "$(MOERT_CUDA_PLUGIN=/tmp/variants/$v.so timeout 40 $B "$@" --label "_$l" 2>&1 | grep "T=") $(at)" >> $L
}
run base memset --shapes gptoss --no-mxfp4
run new gridws --shapes gptoss --no-mxfp4
run new runs --shapes gptoss --only-mxfp4
MOERT_CUDA_EVEN1=32 run new even1 --shapes gptoss --only-mxfp4
MOERT_CUDA_EVEN1=32 MOERT_CUDA_EVEN2=32 run new even12 --shapes gptoss --only-mxfp4
MOERT_CUDA_FUSED_EVEN=1 run new fused_even --shapes gptoss --only-mxfp4 --option cuda.fused_gemv=on
run base memset --shapes gptoss --no-mxfp4
run new gridws --shapes gptoss --no-mxfp4
run new runs --shapes gptoss --only-mxfp4
MOERT_CUDA_EVEN1=32 run new even1 --shapes gptoss --only-mxfp4
MOERT_CUDA_EVEN1=32 MOERT_CUDA_EVEN2=32 run new even12 --shapes gptoss --only-mxfp4
run new runs --shapes qwen3 --no-mxfp4
MOERT_CUDA_EVEN1=32 run new even1 --shapes qwen3 --no-mxfp4
run base memset --shapes mixtral --no-mxfp4
run new gridws --shapes mixtral --no-mxfp4
MOERT_CUDA_FUSED_TRACE=$OUT/trace.txt run new fused_runs --shapes gptoss --only-mxfp4 --option cuda.fused_gemv=on
echo "done $(at)" >> $L
cat $L
