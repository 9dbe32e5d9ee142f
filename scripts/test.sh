#!/usr/bin/env bash
# The README's second command: install dependencies, build every plugin
# (CUDA and HIP included) and run all tests. GPU tests skip with the reason
# when no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DMOERT_WITH_CUDA=ON -DMOERT_WITH_HIP=ON -DMOERT_WITH_ONEDNN=ON
cd build
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
