#!/usr/bin/env bash
# Runs on the device machine: this build's plugin (new, $C) against another
# ($OLD), same call, moert-bench-cuda eager and graph replay, old / new twice
# (alternating, so drift between the rounds shows). bf16 shapes at the given
# token counts, and gpt-oss MXFP4 at the counts in $MX_TOKENS (default 1;
# empty: none).
#   OLD=.carry/old/libmoert-cuda.so scripts/gpu/plugin_ab.sh mixtral,qwen3,gptoss 1,16 [reps]
set -u
C=${C:-.carry/final}
SHAPES=$1 TOKENS=$2 R=${3:-20}
MX=${MX_TOKENS-1}
OLD=${OLD:-.carry/old/libmoert-cuda.so}
NEW=$C/lib/moert/plugins/libmoert-cuda.so
export LD_LIBRARY_PATH=$C/lib
for round in 1 2; do
  for v in old new; do
    if [ $v = old ]; then P=$OLD; else P=$NEW; fi
    MOERT_CUDA_PLUGIN=$P timeout 90 $C/bin/moert-bench-cuda --shapes $SHAPES --tokens $TOKENS --reps $R \
      --no-mxfp4 --label _$v 2>&1 | grep "T="
    [ -n "$MX" ] && MOERT_CUDA_PLUGIN=$P timeout 40 $C/bin/moert-bench-cuda --shapes gptoss --tokens $MX --reps $R \
      --only-mxfp4 --label _$v 2>&1 | grep "T="
  done
done
