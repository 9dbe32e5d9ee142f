#!/usr/bin/env bash
# Device call: the headline (final_call.sh, its 8 files into $OUT), then on
# stdout only (the device tool brings back 8 files): gpt-oss MXFP4 at 1 and
# 16 tokens with the bulk GEMV's scales staged (this build) against the
# plugin in .carry/nostage (scales read from global memory), alternating,
# twice; and gpt-oss bf16 at 1 token with MOERT_CUDA_FUSED_BPS=1 against the
# default, twice. Graph and eager µs (moert-bench-cuda).
set -u
bash "$(dirname "$0")/../final_call.sh"
C=.carry/final
export LD_LIBRARY_PATH=$C/lib
NEW=$C/lib/moert/plugins/libmoert-cuda.so OLD=.carry/nostage/lib/moert/plugins/libmoert-cuda.so
for i in 1 2; do
  for b in OLD NEW; do
    MOERT_CUDA_PLUGIN=${!b} timeout 60 $C/bin/moert-bench-cuda --shapes gptoss --only-mxfp4 --tokens 1,16 --reps 30 \
      --label _$b 2>&1 | grep "T="
  done
  MOERT_CUDA_PLUGIN=$NEW timeout 30 $C/bin/moert-bench-cuda --shapes gptoss --no-mxfp4 --tokens 1 --reps 30 \
    --label _bps_default 2>&1 | grep "T="
  MOERT_CUDA_FUSED_BPS=1 MOERT_CUDA_PLUGIN=$NEW timeout 30 $C/bin/moert-bench-cuda --shapes gptoss --no-mxfp4 \
    --tokens 1 --reps 30 --label _bps_1 2>&1 | grep "T="
done
