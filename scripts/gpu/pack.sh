#!/usr/bin/env bash
# Runs here: copies what the device machine needs into .carry/cuda/ (git-ignored).
set -eu
B=${1:-build-cuda}
mkdir -p .carry/cuda
cp "$B/bin/moert_cuda_tests" "$B/bin/moert-bench-cuda" "$B/lib/moert/plugins/libmoert-cuda.so" .carry/cuda/
cp /work/shared/bench/peer_moe.py .carry/cuda/
du -sh .carry/cuda
