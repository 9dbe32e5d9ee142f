#!/usr/bin/env python3
"""Per-SASS-line counts from `ncu -i REP --page source --csv --print-source
sass` (one or more kernels; each header row starts a kernel), as TSV on
stdout: kernel index, address, instructions executed (warp level), thread
instructions executed, warp samples, the line's top stall reason, the SASS.
Then, on stderr, each kernel's totals. Why: an instruction budget per
source region (staging, routing, chunk math, the pair's finish) needs the
executed count of every line, which decode_stalls.py (samples only) leaves
out.
    sass_counts.py src.csv > counts.tsv
"""
import csv
import sys


def num(s):
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return 0.0


def col(hdr, *prefixes):
    for p in prefixes:
        for i, h in enumerate(hdr):
            if h.startswith(p):
                return i
    return None


def main():
    hdr, k = None, -1
    out = sys.stdout
    totals = []
    for r in csv.reader(open(sys.argv[1], errors="replace")):
        if "Source" in r and "Address" in r:
            hdr, k = r, k + 1
            a, src = hdr.index("Address"), hdr.index("Source")
            ie = col(hdr, "Instructions Executed")
            te = col(hdr, "Thread Instructions Executed")
            ws = col(hdr, "Warp Stall Sampling (All")
            stall = [(i, h) for i, h in enumerate(hdr) if h.startswith("stall_")]
            totals.append([0.0, 0.0, 0])
            continue
        if hdr is None or len(r) != len(hdr):
            continue
        inst = num(r[ie]) if ie is not None else 0.0
        thr = num(r[te]) if te is not None else 0.0
        smp = num(r[ws]) if ws is not None else 0.0
        top = max(stall, key=lambda ih: num(r[ih[0]]), default=(None, ""))
        why = top[1] if top[0] is not None and num(r[top[0]]) > 0 else ""
        out.write(f"{k}\t{r[a]}\t{inst:.0f}\t{thr:.0f}\t{smp:.0f}\t{why}\t{r[src].strip()}\n")
        totals[k][0] += inst
        totals[k][1] += smp
        totals[k][2] += 1
    for i, (inst, smp, n) in enumerate(totals):
        print(f"kernel {i}: {n} lines, {inst:.0f} warp instructions, {smp:.0f} samples", file=sys.stderr)


if __name__ == "__main__":
    main()
