#!/usr/bin/env bash
# Configures and builds moert with every backend whose toolchain is present
# (CUDA from /usr/local/cuda, HIP from Debian's hipcc, oneDNN), into build/.
# Usage: scripts/build.sh [extra cmake args...]   (BUILD_DIR overrides build/)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
