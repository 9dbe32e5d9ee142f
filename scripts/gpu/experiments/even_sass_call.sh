#!/usr/bin/env bash
# Device call (repo root, build packed by scripts/gpu/pack_final.sh into
# .carry/final). Logs into $OUT/even_ab.txt as it goes:
#   - the SASS of the fused one-token kernels (fused_sass.txt.xz), for the
#     repacked MXFP4 decode's instruction count;
#   - one token, graph µs: the fused kernel's even split over one full wave
#     (MOERT_CUDA_FUSED_EVEN=1) against the default runs, gpt-oss MXFP4
#     three times and bf16 twice, alternating;
#   - mixtral 1024 tokens: column tiles of 128 (MOERT_CUDA_WG_BN=128, more
#     work items for GEMM2's 16 column tiles of 256) against the default;
#   - per-kernel times (Nsight Compute) of qwen3 16 / 64 and gpt-oss 64 tokens.
set -u
C=.carry/final
L=$OUT/even_ab.txt
T00=$(date +%s)
at() { echo "  [$(( $(date +%s) - T00 )) s]"; }
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
OBJ=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
$OBJ -sass $MOERT_CUDA_PLUGIN 2>/dev/null | awk '/Function : .*gemv_bulk_fused_kernel/{p=1} /Function : /{if($0 !~ /gemv_bulk_fused_kernel/) p=0} p' |
  xz -3 > $OUT/fused_sass.txt.xz
echo "sass: $(xz -dc $OUT/fused_sass.txt.xz | wc -l) lines $(at)" >> $L
B="$C/bin/moert-bench-cuda --reps 30"
run() {  # run LABEL ARGS... (env from the caller)
  local l=$1; shift
  echo "$(timeout 60 $B "$@" --label "_$l" 2>&1 | grep "T=") $(at)" >> $L
}
for i in 1 2 3; do
  run runs --shapes gptoss --only-mxfp4 --tokens 1
  MOERT_CUDA_FUSED_EVEN=1 run even --shapes gptoss --only-mxfp4 --tokens 1
done
for i in 1 2; do
  run runs --shapes gptoss --no-mxfp4 --tokens 1
  MOERT_CUDA_FUSED_EVEN=1 run even --shapes gptoss --no-mxfp4 --tokens 1
done
MOERT_CUDA_FUSED_EVEN=1 MOERT_CUDA_FUSED_TRACE=$OUT/trace_even.txt run even_trace --shapes gptoss --only-mxfp4 --tokens 1
run bn256 --shapes mixtral --no-mxfp4 --tokens 1024
MOERT_CUDA_WG_BN=128 run bn128 --shapes mixtral --no-mxfp4 --tokens 1024
run bn256 --shapes mixtral --no-mxfp4 --tokens 1024
MOERT_CUDA_WG_BN=128 run bn128 --shapes mixtral --no-mxfp4 --tokens 1024
cat $L
LAUNCHES=16 timeout 200 bash scripts/gpu/kernel_times.sh qwen3:16 qwen3:64 gptoss:64 > $OUT/kernel_times.txt 2>&1
echo "kernel_times done $(at)" >> $L
tail -60 $OUT/kernel_times.txt
