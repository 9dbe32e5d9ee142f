#!/usr/bin/env bash
# Device: the one-token tests with GEMV2's combine on (the default); when they
# fail, the rest of the call runs with it off (MOERT_CUDA_GEMV2_COMBINE=0) and
# says so. Then GEMV2's combine off / on at one token (qwen3, gpt-oss MXFP4,
# two rounds, graph replay), then scripts/gpu/final_call.sh (headline, peer,
# tests, conformance, memcheck) into $OUT.
set -u
C=.carry/final
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
if timeout 90 $C/bin/moert_cuda_tests --gtest_filter='*FusedDecode*:*Graph*:*_T1' > /tmp/gate.log 2>&1; then
  echo "GATE passed: $(grep -E 'PASSED' /tmp/gate.log | tail -1)"
  for round in 1 2; do
    for k in 0 1; do
      MOERT_CUDA_GEMV2_COMBINE=$k timeout 40 $C/bin/moert-bench-cuda --shapes qwen3 --tokens 1 --reps 30 --no-mxfp4 --label _c$k 2>&1 | grep "T="
      MOERT_CUDA_GEMV2_COMBINE=$k timeout 40 $C/bin/moert-bench-cuda --shapes gptoss --tokens 1 --reps 30 --only-mxfp4 --label _c$k 2>&1 | grep "T="
    done
  done
else
  echo "GATE failed, GEMV2 combine off for this call:"; grep -E "Failure|FAILED|error" /tmp/gate.log | head -12
  export MOERT_CUDA_GEMV2_COMBINE=0
fi
bash scripts/gpu/final_call.sh
