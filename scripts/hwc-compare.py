#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Compares what the upstream C driver and mana-rs asked of the emulated MANA function.

Reads the record of tools/mana-vfio-user (--record): the first FLR segment with marks is the C
driver's recorded scenario, the second mana-rs's (scripts/pci-smoke-init.sh, hwc_scenario). For
each step (probe, up, MTU change, channel change, down, remove) it compares the hardware-channel
and mailbox requests, their parameters and their order, after removing the differences listed in
the differences file (tests/pci/hwc-differences), each with its reason:

    ignore c|rs REQUEST [FIELD=VALUE ...]   -- reason
        drop that driver's REQUEST lines (with those fields) before comparing;
    extra c|rs REQUEST [FIELD=VALUE ...]    -- reason
        drop the last such line of each step (the driver sends one more than the other);
    field REQUEST FIELD                     -- reason
        leave FIELD of REQUEST out of both drivers' lines;
    unordered STEP                          -- reason
        compare step STEP (probe, up, mtu, channels, down, remove) as a multiset of requests,
        with the handles reduced to their kind (region3 -> region): the drivers create or
        destroy the same objects in another order.

Any rule may carry step=STEP, which limits it to that step. A step that still differs fails with both records side by side. Prints one "ok - ..." or
"not ok - ..." line per step (scripts/pci-smoke.sh counts them); exits 1 on a difference.
"""

import difflib
import re
import sys

STEPS = {1: "probe", 2: "up", 3: "mtu", 4: "channels", 5: "down", 6: "remove"}


def segments(lines):
    """The FLR segments that hold marks, as {step: [lines]}."""
    out, cur = [], None
    for line in lines:
        if line == "flr":
            cur = {}
            step = None
            out.append(cur)
            continue
        if cur is None:
            continue
        if line.startswith("mark "):
            step = int(line.split()[1])
            cur.setdefault(step, [])
            continue
        if step is not None and (line.startswith("hwc ") or line.startswith("smc ")):
            cur.setdefault(step, []).append(line)
    return [s for s in out if s]


def parse_rules(path):
    rules = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            rule, sep, reason = line.partition("--")
            words = rule.split()
            step = [w for w in words if w.startswith("step=")]
            words = [w for w in words if not w.startswith("step=")]
            if step and step[0][5:] not in STEPS.values():
                sys.exit(f"{path}:{n}: unknown {step[0]}")
            ok = (words[0] in ("ignore", "extra", "field") and len(words) >= 3) or (
                words[0] == "unordered" and len(words) == 2 and words[1] in STEPS.values())
            if not sep or not reason.strip() or not ok:
                sys.exit(f"{path}:{n}: expected 'ignore c|rs REQUEST [F=V ...] -- reason', "
                         "'field REQUEST FIELD -- reason' or 'unordered STEP -- reason'")
            rules.append((step[0][5:] if step else None, words))
    return rules


def request_of(line):
    words = line.split()
    return words[1] if len(words) > 1 else ""


def apply(rules, step, who, lines):
    rules = [r for s, r in rules if s in (None, step)]
    extra = [r for r in rules if r[0] == "extra" and r[1] == who]
    out = []
    # From the end: "extra" drops the last such line.
    for line in reversed(lines):
        words = line.split()
        drop = False
        for r in rules:
            if r[0] in ("ignore", "extra") and r[1] == who and r[2] == request_of(line):
                if all(w in words for w in r[3:]) and (r[0] == "ignore" or r in extra):
                    drop = True
                    if r[0] == "extra":
                        # Each "extra" rule drops one line.
                        extra.remove(r)
                    break
        if drop:
            continue
        for r in rules:
            if r[0] == "field" and r[1] == request_of(line):
                words = [w for w in words if not w.startswith(r[2] + "=")]
        out.append(" ".join(words))
    return out[::-1]


def kinds(lines):
    """The lines with each handle reduced to its kind, sorted."""
    return sorted(re.sub(r"\b([a-z]+)[0-9]+\b", r"\1", l) for l in lines)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: hwc-compare.py RECORD DIFFERENCES")
    with open(sys.argv[1]) as f:
        lines = [l.rstrip("\n") for l in f]
    rules = parse_rules(sys.argv[2])
    segs = segments(lines)
    if len(segs) < 2:
        print(f"not ok - hwc record: {len(segs)} marked driver runs, expected 2 (the C driver, mana-rs)")
        return 1
    c, rs = segs[0], segs[1]
    bad = 0
    for step, name in STEPS.items():
        a = apply(rules, name, "c", c.get(step, []))
        b = apply(rules, name, "rs", rs.get(step, []))
        if (None, ["unordered", name]) in rules:
            a, b = kinds(a), kinds(b)
        if a == b:
            print(f"ok - hwc record, {name}: mana-rs asks what the C driver asks ({len(a)} requests)")
            continue
        bad += 1
        print(f"not ok - hwc record, {name}: mana-rs differs from the C driver")
        width = max([len(x) for x in a] + [20])
        print(f"# {'the C driver':<{width}} | mana-rs")
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            mark = " " if op == "equal" else "!"
            for k in range(max(i2 - i1, j2 - j1)):
                left = a[i1 + k] if i1 + k < i2 else ""
                right = b[j1 + k] if j1 + k < j2 else ""
                print(f"#{mark}{left:<{width}} | {right}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
