#!/usr/bin/env bash
# Device call: the fused one-token kernel's chunk math, mma against fma
# (option cuda.fused_gemv_math, which exists on branch wip/fused-mma only:
# on main the option is refused), on this build (.carry/final):
#  1. the fused, one-token and graph tests (tests.txt);
#  2. graph and eager µs at one token, alternating, twice, gpt-oss bf16 and
#     mixtral, fma / mma (ab.txt);
#  3. the mma ring knobs at gpt-oss bf16 (MOERT_CUDA_MMA_SEG_BYTES,
#     MOERT_CUDA_MMA_RING_BYTES; knobs.txt);
#  4. gpt-oss MXFP4 at one token with GEMV2's pairs per warp 0 / 3 / 4
#     (MOERT_CUDA_GEMV2_PPW), twice (ppw.txt).
set -u
C=.carry/final
OUT=${OUT:-gpu-out}
export LD_LIBRARY_PATH=$C/lib MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
B="$C/bin/moert-bench-cuda --tokens 1 --reps 30"
timeout 150 $C/bin/moert_cuda_tests \
  --gtest_filter='*FusedGemvMma*:*FusedDecode*:*Graph*:*T1*:*OneToken*:*bulk*:*Bulk*' 2>&1 |
  grep -E "FAILED|PASSED|Failure|Expected|Which is|rel_err|seed|tests ran" | tail -40 | tee $OUT/tests.txt
for i in 1 2; do
  for s in "gptoss --no-mxfp4" "mixtral --no-mxfp4"; do
    for m in fma mma; do
      timeout 60 $B --shapes $s --option cuda.fused_gemv_math=$m --label _$m 2>&1 | grep "T=" | tee -a $OUT/ab.txt
    done
  done
done
for kv in MOERT_CUDA_MMA_SEG_BYTES=512 MOERT_CUDA_MMA_SEG_BYTES=2048 MOERT_CUDA_MMA_RING_BYTES=24576 \
          MOERT_CUDA_MMA_RING_BYTES=32768 MOERT_CUDA_FUSED_BPS=2; do
  env $kv timeout 60 $B --shapes gptoss --no-mxfp4 --label _${kv#MOERT_CUDA_} 2>&1 | grep "T=" | tee -a $OUT/knobs.txt
done
for i in 1 2; do
  for v in 0 3 4; do
    MOERT_CUDA_GEMV2_PPW=$v timeout 40 $B --shapes gptoss --only-mxfp4 --label _ppw2_$v 2>&1 | grep "T=" | tee -a $OUT/ppw.txt
  done
done
