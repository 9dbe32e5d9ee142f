# Sourced by the device-side Nsight Compute scripts (gemm_stalls.sh,
# decode_profile.sh): the packed build in $C (scripts/gpu/pack_final.sh), the
# output folder $OUT, the plugin and libyaml-cpp from the build, and $NCU.
C=${C:-.carry/final}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$C/lib:${LD_LIBRARY_PATH:-} MOERT_CUDA_PLUGIN=$C/lib/moert/plugins/libmoert-cuda.so
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
# ncu_mx_gemv_metrics PLUGIN METRICS: the comma-separated METRICS of gpt-oss
# MXFP4's two one-token GEMVs in a later forward (launches 6-7, caches kept,
# clocks untouched) with that plugin, as "metric value" lines.
ncu_mx_gemv_metrics() {
  MOERT_CUDA_PLUGIN=$1 timeout 90 "$NCU" --clock-control none --cache-control none \
    --kernel-name regex:'gemv|combine' --launch-skip 6 --launch-count 2 --metrics "$2" --csv \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens 1 --shapes gptoss --only-mxfp4 2>/dev/null |
    grep -E '^"[0-9]' | awk -F'","' '{print $(NF-2) " " $NF}' | sed 's/"//g'
}
