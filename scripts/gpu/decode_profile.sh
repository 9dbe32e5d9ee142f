#!/usr/bin/env bash
# Runs on the device machine with a packed build in $C (scripts/gpu/pack_final.sh):
# where the one-token forward spends its time. For each point (mxfp4 = gpt-oss
# with MXFP4 weights, else shape name, bf16), one token:
#   1. device time, DRAM bytes read and warps active of each kernel of the
#      first forwards (Nsight Compute, clocks left alone, caches flushed
#      between kernels, so a kernel that reads what the one before prefetched
#      into L2 reads it from DRAM here);
#   2. the decode GEMVs' stall reasons and the SASS lines with most warp
#      samples (WarpStateStats + SourceCounters, parsed by decode_stalls.py).
# Writes $OUT/ktimes_<pt>.csv and $OUT/stalls_<pt>.txt. The knob sweep is
# decode_sweep.sh.
#   scripts/gpu/decode_profile.sh mxfp4 qwen3
set -u
. "$(dirname "$0")/ncu_common.sh"
HERE=$(dirname "$0")
args_of() { if [ "$1" = mxfp4 ]; then echo "--shapes gptoss --only-mxfp4"; else echo "--shapes $1 --no-mxfp4"; fi; }
for pt in "$@"; do
  A=$(args_of "$pt")
  echo "== $pt: kernel times (ns), launches of the first forwards"
  timeout 120 "$NCU" --clock-control none --kernel-name regex:'gemv|combine|route|routing|sort' --launch-count 8 --csv \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,sm__warps_active.avg.pct_of_peak_sustained_active \
    "$C/bin/moert-bench-cuda" --reps 1 --tokens 1 $A > "$OUT/ktimes_$pt.csv" 2>/dev/null
  python3 - "$OUT/ktimes_$pt.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
hdr = rows[0]; rows = rows[1:]
ki, mi, vi, ii = hdr.index("Kernel Name"), hdr.index("Metric Name"), hdr.index("Metric Value"), hdr.index("ID")
by = {}
for r in rows:
    by.setdefault(r[ii], [r[ki][:50], {}])[1][r[mi]] = r[vi]
for k, (name, m) in by.items():
    print(f"  {k:>3} {name:50s} {m.get('gpu__time_duration.sum','?'):>8} ns  dram_read {m.get('dram__bytes_read.sum','?'):>12}  warps_active {m.get('sm__warps_active.avg.pct_of_peak_sustained_active','?')}")
EOF
  echo "== $pt: stalls of the decode GEMVs"
  timeout 150 "$NCU" --clock-control none --kernel-name regex:gemv --launch-count 2 \
    --section WarpStateStats --section SourceCounters --section SpeedOfLight --section Occupancy --section LaunchStats \
    -o "$OUT/rep_$pt" -f "$C/bin/moert-bench-cuda" --reps 1 --tokens 1 $A > /dev/null 2>&1
  "$NCU" -i "$OUT/rep_$pt.ncu-rep" --page details > "$OUT/stalls_$pt.txt" 2>&1
  grep -E "gemv|Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Warp Cycles Per Issued|Grid Size|Dynamic Shared" "$OUT/stalls_$pt.txt" | head -40
  "$NCU" -i "$OUT/rep_$pt.ncu-rep" --page source --csv --print-source sass > "$OUT/src_$pt.csv" 2>/dev/null
  python3 "$HERE/decode_stalls.py" "$OUT/src_$pt.csv" | tee -a "$OUT/stalls_$pt.txt"
  rm -f "$OUT/src_$pt.csv" "$OUT/rep_$pt.ncu-rep"
done
