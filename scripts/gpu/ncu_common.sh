# Sourced by the device-side Nsight Compute scripts (gemm_stalls.sh,
# decode_profile.sh): the packed build in $C (scripts/gpu/pack_final.sh), the
# output folder $OUT, the plugin and libyaml-cpp from the build, and $NCU.
C=${C:-.carry/final}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$C/lib:${LD_LIBRARY_PATH:-} MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
