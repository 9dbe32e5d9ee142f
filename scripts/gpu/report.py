#!/usr/bin/env python3
"""Joins moert-bench-cuda's JSON lines with peer_moe.py's JSON (same device
call) into a markdown table: moert eager/graph times, torch._grouped_mm,
the floor of that run, ratios, and the issue-6 bars.
Usage: report.py BENCH.jsonl PEER.json [GPU_NAME]"""
import json, sys, datetime

SHAPES = {"mixtral": (8, 2, 4096, 14336), "qwen3": (128, 8, 2048, 768), "gptoss": (128, 4, 2880, 2880)}

def main():
    bench = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    peer = json.load(open(sys.argv[2]))
    gpu = sys.argv[3] if len(sys.argv) > 3 else "?"
    bw, fl = peer["bw"], peer["bf16_flops"]
    prow = {(r["shape"], r["tokens"]): r for r in peer["rows"]}
    print(f"GPU: {gpu}; date {datetime.date.today()}; copy bandwidth {bw/1e12:.2f} TB/s, bf16 GEMM {fl/1e12:.0f} TFLOP/s (measured in this run)\n")
    print("| shape | tokens | floor us | moert graph us | moert eager us | grouped_mm graph us | floor/moert | grouped_mm/moert | bars |")
    print("|---|---|---|---|---|---|---|---|---|")
    met, missed = 0, []
    for b in bench:
        s, T = b["shape"], b["tokens"]
        g = b["graph_us"]
        if s == "gptoss_mxfp4":
            E, K, H, I = SHAPES["gptoss"]
            touched = E * (1 - (1 - K / E) ** T)
            byts = touched * (3 * H * I * 0.5 + 3 * H * I / 32 + 4 * (3 * I + H)) + 2 * T * H * 2
            floor = byts / bw * 1e6
            ok = T != 1 or g <= 2.5 * floor
            bars = ("MXFP4 T=1 <=2.5x floor: " + ("met" if ok else "MISSED")) if T == 1 else "-"
            if T == 1:
                met += ok
                if not ok: missed.append(f"{s} T={T}")
            print(f"| {s} | {T} | {floor:.1f} (MXFP4 bytes) | {g:.1f} | {b['eager_us']:.1f} | - | {floor/g:.2f} | - | {bars} |")
            continue
        p = prow.get((s, T), {})
        floor = p.get("floor_us")
        gm = p.get("grouped_mm_graph_us")
        share = floor / g if floor else None
        checks = []
        if gm: checks.append(("faster than grouped_mm", g < gm))
        if share is not None:
            if 16 <= T <= 64: checks.append((">=85% floor", share >= 0.85))
            if T == 1 and s in ("mixtral", "gptoss"): checks.append((">=85% floor", share >= 0.85))
            if T == 1 and s == "qwen3": checks.append(("within 2x floor", share >= 0.5))
            if T >= 1024: checks.append((">=60% floor", share >= 0.60))
        for name, okv in checks:
            met += okv
            if not okv: missed.append(f"{s} T={T}: {name}")
        bars = ", ".join(f"{n}: {'met' if o else 'MISSED'}" for n, o in checks)
        f = lambda v: "-" if v is None else f"{v:.1f}"
        r = lambda v: "-" if v is None else f"{v:.2f}"
        print(f"| {s} | {T} | {f(floor)} | {g:.1f} | {b['eager_us']:.1f} | {f(gm)} | {r(share)} | {r(gm / g if gm else None)} | {bars} |")
    print(f"\nbar checks met: {met}; missed: {len(missed)}")
    for m in missed: print(f"- missed: {m}")

if __name__ == "__main__":
    main()
