#!/usr/bin/env bash
# Runs here: copies what scripts/gpu/verify_all.sh and kernel_times.sh need on
# the device machine into .carry/final (git-ignored): the CLI, the conformance
# suite, the CUDA tests and bench, libmoert-cuda.so, the rocm-nv build when
# there is one, the non-system libyaml-cpp, and the peer script.
# Usage: scripts/gpu/pack_final.sh [build-dir]
set -eu
cd "$(dirname "$0")/../.."
B=${1:-build}
D=.carry/final
rm -rf "$D"
mkdir -p "$D/bin" "$D/lib/moert/plugins" "$D/rocm"
cp "$B/bin/moert" "$B/bin/moert-conformance" "$B/bin/moert_cuda_tests" "$B/bin/moert-bench-cuda" "$D/bin/"
cp "$B/lib/moert/plugins/libmoert-cuda.so" "$D/lib/moert/plugins/"
cp -L "$(ldconfig -p | awk '/libyaml-cpp.so.0.7 /{print $NF; exit}')" "$D/lib/libyaml-cpp.so.0.7"
if [ -f "$B/lib/moert/plugins/libmoert-rocm-nv.so" ]; then
  cp "$B/lib/moert/plugins/libmoert-rocm-nv.so" "$D/rocm/"
  cp "$B/bin/moert_rocm_gpu_tests" "$D/rocm/"
fi
cp ../shared/bench/peer_moe.py "$D/"
du -sh "$D"
