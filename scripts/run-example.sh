#!/usr/bin/env bash
# The README's first command: install dependencies, build, and run the main
# job (`moert run` on the example config).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/bin/moert plugins
build/bin/moert run configs/example.yaml "$@"
