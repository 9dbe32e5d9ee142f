#!/usr/bin/env bash
# Runs on the device machine: the bulk decode GEMV with its occupancy query
# made after the shared-memory attribute (new, $C) against the plugin before
# that fix ($OLD), same call, graph replay, at 1 and 16 tokens (bf16 shapes)
# and gpt-oss MXFP4 at 1 token; old / new twice.
#   OLD=.carry/old/libmoert-cuda.so scripts/gpu/occupancy_ab.sh [reps]
set -u
C=${C:-.carry/final}
R=${1:-20}
OLD=${OLD:-.carry/old/libmoert-cuda.so}
NEW=$C/lib/moert/plugins/libmoert-cuda.so
export LD_LIBRARY_PATH=$C/lib
for round in 1 2; do
  for v in old new; do
    if [ $v = old ]; then P=$OLD; else P=$NEW; fi
    MOERT_CUDA_PLUGIN=$P timeout 60 $C/bin/moert-bench-cuda --shapes mixtral,qwen3,gptoss --tokens 1,16 --reps $R \
      --no-mxfp4 --label _$v 2>&1 | grep "T="
    MOERT_CUDA_PLUGIN=$P timeout 40 $C/bin/moert-bench-cuda --shapes gptoss --tokens 1 --reps $R --only-mxfp4 \
      --label _$v 2>&1 | grep "T="
  done
done
