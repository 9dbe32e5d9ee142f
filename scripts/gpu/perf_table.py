#!/usr/bin/env python3
"""Issue-6 table from one device call's files: `moert bench --json` of
configs/models/peer-shapes.yaml, peer_moe.py's JSON, and optionally the
`moert bench --json` of configs/models/gpt-oss-120b.yaml (MXFP4).
The floor is the peer's (bytes / copy bandwidth vs flops / GEMM rate, both
measured in that call); the MXFP4 floor counts 4.25 bits per weight.
Usage: perf_table.py MOERT.json PEER.json [MXFP4.json]"""
import json
import sys

GPTOSS = (128, 4, 2880, 2880)  # E, top-k, H, I


def main():
    moert = {(r["shape"], r["tokens"]): r for r in json.load(open(sys.argv[1]))["rows"]}
    peer = json.load(open(sys.argv[2]))
    bw, fl = peer["bw"], peer["bf16_flops"]
    print(f"copy bandwidth {bw / 1e12:.2f} TB/s, bf16 GEMM {fl / 1e12:.0f} TFLOP/s (peer_moe.py, same call)")
    # How moert bench timed the rows (docs/bench.md, "Order" and "Pause"); JSON
    # written before --pause-ms existed has no pause_ms: no pause.
    timing = sorted({(r.get("order", "eager-first"), r.get("pause_ms", 0)) for r in moert.values()})
    print("moert bench: " + "; ".join(f"{o}, {p} ms idle before each phase" for o, p in timing) + "\n")
    print("| shape | tokens | moert graph µs | moert eager µs | torch._grouped_mm graph µs | floor µs "
          "| share of floor | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    faster = total = 0
    for r in peer["rows"]:
        key = (r["shape"], r["tokens"])
        if key not in moert:
            continue
        m = moert[key]
        g, peer_g, floor = m["moert_graph_us"], r["grouped_mm_graph_us"], r["floor_us"]
        total += 1
        faster += g < peer_g
        print(f"| {key[0]} | {key[1]} | {g:.1f} | {m['moert_us']:.1f} | {peer_g:.1f} | {floor:.1f} "
              f"| {100 * floor / g:.1f}% | {peer_g / g:.2f}x |")
    print(f"\nfaster than torch._grouped_mm at {faster} of {total} points")
    if len(sys.argv) > 3:
        E, K, H, I = GPTOSS
        print("\n| tokens | MXFP4 floor µs | cuda graph µs | cuda / floor |")
        print("|---|---|---|---|")
        for r in json.load(open(sys.argv[3]))["rows"]:
            T = r["tokens"]
            touched = E * (1 - (1 - K / E) ** T)
            byts = touched * (3 * H * I * 0.5 + 3 * H * I / 32 + 4 * (3 * I + H)) + 2 * T * H * 2
            floor = byts / bw * 1e6
            print(f"| {T} | {floor:.1f} | {r['moert_graph_us']:.1f} | {r['moert_graph_us'] / floor:.2f}x |")


if __name__ == "__main__":
    main()
