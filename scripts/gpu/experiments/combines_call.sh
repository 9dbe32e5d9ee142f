#!/usr/bin/env bash
# One device call for the two combine branches (packed: wip/rows-combine's
# plugin, tests and bench in .carry/rc; wip/fused-combine's plugin in
# .carry/fc; main in .carry/final): all CUDA tests and a memcheck subset on the
# rows-combine build, the rocm-nv GPU tests, then off/on A/B of each branch.
set -u
F=.carry/final; RC=.carry/rc; FC=.carry/fc
export LD_LIBRARY_PATH=$F/lib
T0=$(date +%s); t() { echo "  at $(( $(date +%s) - T0 )) s"; }
echo "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)  $(date -u)"
RCP=$RC/lib/moert/plugins/libmoert-cuda.so; FCP=$FC/lib/moert/plugins/libmoert-cuda.so
echo "== rows-combine A/B (qwen3, gptoss 16 tokens; off/auto x2)"
for i in 1 2; do for v in off auto; do
  MOERT_CUDA_PLUGIN=$RCP timeout 40 $RC/bin/moert-bench-cuda --shapes qwen3,gptoss,mixtral --tokens 16 --reps 20 --no-mxfp4 \
    --option cuda.rows_combine=$v --label _rc_$v 2>&1 | grep "T=" | tee -a $OUT/ab.txt | cut -c1-150
done; done; t
echo "== fused-combine A/B (1 token; 0/1 x2)"
for i in 1 2; do for k in 0 1; do
  MOERT_CUDA_FUSED_COMBINE=$k MOERT_CUDA_PLUGIN=$FCP timeout 60 $F/bin/moert-bench-cuda --shapes gptoss,mixtral,qwen3 --tokens 1 \
    --reps 30 --no-mxfp4 --label _fc$k 2>&1 | grep "T=" | tee -a $OUT/ab.txt | cut -c1-150
done; done; t
echo "== fused-combine tests"
MOERT_CUDA_PLUGIN=$FCP timeout 100 $F/bin/moert_cuda_tests --gtest_filter='*FusedDecode*:*Graph*:*_T1*' > $OUT/fc_tests.log 2>&1; echo "exit $?"; grep -E "FAILED|PASSED|Failure" $OUT/fc_tests.log | tail -4; t
echo "== rocm-nv gpu tests"
MOERT_ROCM_PLUGIN=$F/rocm/libmoert-rocm-nv.so timeout 60 $F/rocm/moert_rocm_gpu_tests > $OUT/rocm_tests.log 2>&1; echo "exit $?"; grep -E "FAILED|PASSED" $OUT/rocm_tests.log | tail -3; t
echo "== all CUDA tests, rows-combine build"
MOERT_CUDA_PLUGIN=$RCP timeout 170 $RC/bin/moert_cuda_tests > $OUT/rc_tests.log 2>&1; echo "exit $?"; tail -1 $OUT/rc_tests.log; grep -E "^\[  FAILED" $OUT/rc_tests.log | head; t
grep -E "rel_err" $OUT/rc_tests.log | awk '{print $(NF-2)}' | sort -g | tail -1 | sed 's/^/max rel_err /'
L=$(( 520 - ($(date +%s) - T0) )); [ $L -lt 20 ] && L=20
CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
MOERT_CUDA_PLUGIN=$RCP timeout $L $CS --tool memcheck --error-exitcode 9 $RC/bin/moert_cuda_tests --gtest_filter='*rows*:*Rows*:*gemv*:*Graph*:*tile*:*expert_map*:*many_block*:*RoutingTies*:*NonFinite*' > $OUT/memcheck.log 2>&1
echo "memcheck exit $? (limit $L s): $(grep -E 'ERROR SUMMARY' $OUT/memcheck.log | tail -1) $(grep -E 'PASSED|FAILED' $OUT/memcheck.log | tail -2 | tr '\n' ' ')"; t
