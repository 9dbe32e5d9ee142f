#!/usr/bin/env bash
# Device-side: each kernel's own time (Nsight Compute, kernels serialized,
# caches and clocks left alone) in the eager forwards and in the graph
# replays of `moert bench`, for points given as layer:tokens of
# configs/models/peer-shapes.yaml. With --reps 2 --warmup 1 the bench runs 3
# eager forwards, then 3 graph replays (graph kernel nodes are profiled one by
# one). If a kernel is slower as a graph node here, the gap is inside that
# kernel; if not, it is between kernels. Prints the kernels in launch order.
#   scripts/gpu/graph_gap_ncu.sh mixtral:1024 gptoss:256
set -u
. "$(dirname "$0")/ncu_common.sh"
for pt in "$@"; do
  l=${pt%%:*} t=${pt##*:}
  echo "== $pt"
  timeout 150 "$NCU" --clock-control none --cache-control none --launch-count ${LAUNCHES:-120} --csv \
    --metrics gpu__time_duration.sum,launch__grid_size,launch__registers_per_thread \
    $C/bin/moert bench configs/models/peer-shapes.yaml --runner cuda --layer $l --tokens $t --reps 2 --warmup 1 \
    > "$OUT/ncu_gap_${l}_$t.csv" 2>/dev/null
  python3 - "$OUT/ncu_gap_${l}_$t.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
hdr = rows[0]; rows = rows[1:]
ki, mi, vi, ii = hdr.index("Kernel Name"), hdr.index("Metric Name"), hdr.index("Metric Value"), hdr.index("ID")
ui = hdr.index("Metric Unit")
by = {}
for r in rows:
    by.setdefault(int(r[ii]), [r[ki], {}])[1][r[mi]] = r[vi] + (" " + r[ui] if r[mi] == "gpu__time_duration.sum" else "")
for k in sorted(by):
    name, m = by[k]
    name = name.replace("moert_cuda::", "").replace("(anonymous namespace)::", "")[:70]
    print(f"  {k:>3} {m.get('gpu__time_duration.sum','?'):>14} grid {m.get('launch__grid_size','?'):>7} regs {m.get('launch__registers_per_thread','?'):>4}  {name}")
EOF
done
