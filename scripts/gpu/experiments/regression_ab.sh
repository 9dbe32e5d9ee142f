#!/usr/bin/env bash
# Device call: main's plugin (.carry/final) against the 19:20 UTC headline's
# build (ac9c199, plugin in .carry/old) at the large-batch points that were
# slower in the two 20:3x calls, same call, alternating, twice, graph and
# eager µs (moert-bench-cuda).
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib
for i in 1 2; do for b in old final; do
  MOERT_CUDA_PLUGIN=.carry/$b/lib/moert/plugins/libmoert-cuda.so timeout 60 $C/bin/moert-bench-cuda --shapes qwen3 \
    --tokens 64,4096 --reps 20 --no-mxfp4 --label _$b 2>&1 | grep "T="
  MOERT_CUDA_PLUGIN=.carry/$b/lib/moert/plugins/libmoert-cuda.so timeout 60 $C/bin/moert-bench-cuda --shapes mixtral \
    --tokens 1024 --reps 20 --no-mxfp4 --label _$b 2>&1 | grep "T="
done; done
