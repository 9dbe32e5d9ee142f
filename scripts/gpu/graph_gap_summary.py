#!/usr/bin/env python3
"""Eager against graph-replayed forwards in an nsys cuda_gpu_trace CSV.

Used by scripts/gpu/graph_gap.sh. moert bench runs the same number of eager
and graph forwards (warmups included), so the forward's kernels appear 2N
times each: the first N are eager, the last N graph nodes. Prints, per
kernel, the median duration of each half, then one eager and one graph
forward kernel by kernel (start offset from the forward's first kernel,
duration), which shows launch gaps and PDL overlap."""
import csv
import statistics
import sys
from collections import Counter, defaultdict


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            name = r.get("Name", "")
            if not name or name.startswith("[CUDA mem"):
                continue
            try:
                rows.append((int(r["Start (ns)"]), int(r["Duration (ns)"]), name))
            except (KeyError, ValueError):
                continue
    rows.sort()
    return rows


def short(name, width=70):
    name = name.replace("moert_cuda::", "").replace("(anonymous namespace)::", "")
    return name if len(name) <= width else name[: width - 3] + "..."


def main():
    rows = load(sys.argv[1])
    counts = Counter(n for _, _, n in rows)
    # The forward's kernels: the most frequent count (even, 2N) and its multiples.
    base = Counter(c for c in counts.values() if c % 2 == 0 and c >= 4).most_common(1)
    if not base:
        print("no repeated kernels found")
        return
    base = base[0][0]
    fwd = {n for n, c in counts.items() if c % base == 0}
    per = defaultdict(list)
    for s, d, n in rows:
        if n in fwd:
            per[n].append(d)
    print(f"{base // 2} eager and {base // 2} graph forwards; kernel: eager / graph median us (calls per forward)")
    tot_e = tot_g = 0.0
    for n, ds in sorted(per.items(), key=lambda kv: -sum(kv[1])):
        h = len(ds) // 2
        e, g = statistics.median(ds[:h]) / 1e3, statistics.median(ds[h:]) / 1e3
        k = len(ds) // base
        tot_e += e * k
        tot_g += g * k
        print(f"  {e:9.1f} / {g:9.1f}  x{k}  {short(n)}")
    print(f"  {tot_e:9.1f} / {tot_g:9.1f}  sum of kernel medians")
    seq = [(s, d, n) for s, d, n in rows if n in fwd]
    per_fwd = len(seq) // base
    for label, idx in (("eager", base // 2 - 1), ("graph", base - 1)):
        f = seq[idx * per_fwd:(idx + 1) * per_fwd]
        t0 = f[0][0]
        print(f"{label} forward {idx}: span {(max(s + d for s, d, _ in f) - t0) / 1e3:.1f} us")
        for s, d, n in f:
            print(f"  +{(s - t0) / 1e3:9.1f}  {d / 1e3:9.1f}  {short(n)}")


if __name__ == "__main__":
    main()
