#!/usr/bin/env bash
# Runs on the device machine: the bulk decode GEMV with its occupancy query
# made after the shared-memory attribute (new, $C) against the plugin before
# that fix ($OLD), same call, graph replay, at 1 and 16 tokens (bf16 shapes)
# and gpt-oss MXFP4 at 1 token; old / new twice (plugin_ab.sh).
#   OLD=.carry/old/libmoert-cuda.so scripts/gpu/experiments/occupancy_ab.sh [reps]
exec "$(dirname "$0")/../plugin_ab.sh" mixtral,qwen3,gptoss 1,16 "${1:-20}"
