#!/usr/bin/env python3
"""Top SASS lines by warp stall samples from `ncu -i REP --page source --csv
--print-source sass` (one or more kernels; each header row starts a kernel).
For each kernel: total samples, the stall reasons summed over the kernel, and
the 25 lines with most samples with their main reasons.
    decode_stalls.py src.csv
"""
import csv
import sys


def num(s):
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return 0.0


def report(hdr, rows, index):
    try:
        src = next(i for i, h in enumerate(hdr) if h == "Source")
        allc = next(i for i, h in enumerate(hdr) if h.startswith("Warp Stall Sampling (All"))
    except StopIteration:
        print(f"kernel {index}: no stall sampling columns ({len(hdr)} columns)")
        return
    stall = [(i, h) for i, h in enumerate(hdr) if h.startswith("stall_") or h.startswith("smsp__pcsamp")]
    total = sum(num(r[allc]) for r in rows)
    print(f"kernel {index}: {len(rows)} SASS lines, {total:.0f} warp samples")
    if total <= 0:
        return
    sums = {h: sum(num(r[i]) for r in rows) for i, h in stall}
    top = sorted(sums.items(), key=lambda kv: -kv[1])[:10]
    print("  reasons: " + ", ".join(f"{h} {100 * v / total:.1f}%" for h, v in top if v > 0))
    for r in sorted(rows, key=lambda r: -num(r[allc]))[:25]:
        reasons = sorted(((num(r[i]), h) for i, h in stall), reverse=True)[:3]
        why = ", ".join(f"{h} {v:.0f}" for v, h in reasons if v > 0)
        print(f"  {100 * num(r[allc]) / total:5.1f}%  {r[src].strip()[:70]:70s}  {why}")


def main():
    hdr, rows, k = None, [], 0
    for r in csv.reader(open(sys.argv[1], errors="replace")):
        if "Source" in r and any(h.startswith("Warp Stall Sampling") for h in r):
            if hdr is not None:
                report(hdr, rows, k)
                k += 1
            hdr, rows = r, []
        elif hdr is not None and len(r) == len(hdr):
            rows.append(r)
    if hdr is not None:
        report(hdr, rows, k)
    else:
        print("no source table found")


if __name__ == "__main__":
    main()
