#!/usr/bin/env bash
# Device call: the rows GEMV's auto groups against the old fixed 4 (option
# cuda.gemv_rows_groups=4) at 16 tokens of qwen3, same call, twice, graph
# replay (stdout only: final_call.sh writes the 8 files the tool brings
# back), then scripts/gpu/final_call.sh.
set -u
C=.carry/final
for i in 1 2; do for v in 4 auto; do
  LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so timeout 40 $C/bin/moert-bench-cuda \
    --shapes qwen3 --tokens 16 --reps 20 --no-mxfp4 --option cuda.gemv_rows_groups=$v --label _g$v 2>&1 | grep "T="
done; done
bash scripts/gpu/final_call.sh
