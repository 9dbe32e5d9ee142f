#!/usr/bin/env bash
# Final device call (run on the device machine from the repo root, with a build
# packed by scripts/gpu/pack_final.sh into .carry/final, logs into $OUT): moert
# bench + peer_moe.py in one call, then the CUDA tests, conformance and
# compute-sanitizer memcheck on the tests of the decode GEMV, wgmma, graph,
# tile and expert-map paths (memcheck stops FINAL_DEADLINE_S, default 470,
# seconds after the start). It writes 8 files into $OUT, the most the device
# tool brings back: do not tee its output into $OUT as well.
set -u
C=.carry/final
O=$OUT
export LD_LIBRARY_PATH=$C/lib PYTHONUNBUFFERED=1 MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
M=$C/bin/moert
T0=$(date +%s)
T0=$T0 bash "$(dirname "$0")/bench_only_call.sh"
timeout 220 $C/bin/moert_cuda_tests > $O/cuda_tests.log 2>&1; echo "cuda tests exit $? at $(( $(date +%s) - T0 )) s"; tail -2 $O/cuda_tests.log
grep -E "rel_err" $O/cuda_tests.log | awk '{print $(NF-2)}' | sort -g | tail -1 | sed 's/^/max rel_err /'
timeout 120 $C/bin/moert-conformance $C/lib/moert/plugins/libmoert-cuda.so > $O/conf_cuda.log 2>&1; echo "conformance exit $? at $(( $(date +%s) - T0 )) s"; tail -3 $O/conf_cuda.log
$M plugins 2>&1 | head -8
L=$(( ${FINAL_DEADLINE_S:-470} - ($(date +%s) - T0) )); [ $L -lt 20 ] && L=20
CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
timeout $L $CS --tool memcheck --error-exitcode 9 $C/bin/moert_cuda_tests --gtest_filter='*rows*:*gemv*:*wgmma*:*Graph*:*bk64*:*tile*:*expert_map*:*FusedDecode*:*many_block*:*RoutingTies*:*Mxfp4Nan*' > $O/memcheck.log 2>&1
echo "memcheck exit $? (limit $L s): $(grep -E 'ERROR SUMMARY' $O/memcheck.log | tail -1) $(grep -E 'PASSED|FAILED' $O/memcheck.log | tail -2 | tr '\n' ' ') at $(( $(date +%s) - T0 )) s"
