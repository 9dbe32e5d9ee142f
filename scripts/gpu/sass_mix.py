#!/usr/bin/env python3
"""Opcode mix of the SASS functions whose names contain PATTERN, from
`cuobjdump -sass LIB` on stdin: per function, the instruction count and the
most frequent opcodes (modifiers dropped after the first dot).
    cuobjdump -sass lib.so | sass_mix.py PATTERN [TOP]
"""
import collections
import re
import sys


def main():
    pat = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    name, ops = None, None

    def flush():
        if name is not None and ops:
            total = sum(ops.values())
            mix = ", ".join(f"{o} {n}" for o, n in ops.most_common(top))
            print(f"{name[:150]}\n  {total} instructions: {mix}")

    for line in sys.stdin:
        m = re.search(r"Function : (\S+)", line)
        if m:
            flush()
            name = m.group(1) if pat in m.group(1) else None
            ops = collections.Counter()
            continue
        if name is None:
            continue
        m = re.match(r"\s+/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)", line)
        if m:
            ops[m.group(1)] += 1
    flush()


if __name__ == "__main__":
    main()
