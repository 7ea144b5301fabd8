#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checks the stack frames of the built mana-rs objects: the C kernel warns above
CONFIG_FRAME_WARN (2048 bytes), Rust code gets no such warning, and a by-value array inlined
into a NAPI poll once took 11.5 KiB of the 16 KiB kernel stack.

Reads the prologue of every function in the given objects (objdump), adds up what it reserves
(`sub $N,%rsp`, including the page-sized steps of an inline stack probe) and fails, naming the
function and its size, when a function reserves more than --limit bytes, or more than
--datapath-limit bytes if it runs on the data path (NAPI poll, transmit, interrupt handlers,
completion handling: the names in DATAPATH below).

  frame-sizes.py [--limit 2048] [--datapath-limit 1024] [--top N] OBJECT[=REGEX]...

OBJECT=REGEX checks only the functions of OBJECT whose demangled names match REGEX (the
abstractions inside the kernel crate's object).
"""

import argparse
import re
import subprocess
import sys

# Functions that run on the data path, matched against the demangled name.
DATAPATH = re.compile(
    r'(::poll\b|::poll_tx\b|::poll_rx\b|::reap_tx\b|start_xmit|::xmit\b|::post_tx\b|'
    r'::post_rx\b|::refill|::napi_|::map_skb\b|MappedSkb|SkbMap|::take_skb\b|'
    r'::rx_frame\b|::run_xdp\b|::xdp_tx\b|::xdp_xmit|xdp_xmit_callback|'
    r'::handle_irq|::interrupt\b|InterruptHandler|irq_handler|::deliver\b|'
    r'read_cqe|read_eqe|::ring\b|::build_skb|gro_receive|napi_consume)')

FUNC = re.compile(r'^[0-9a-f]+ <(.+)>:$')
SUB_RSP = re.compile(r'\bsub\s+\$0x([0-9a-f]+),%rsp')
# Instructions that end a prologue: after them a `sub ... %rsp` is not the frame.
PROLOGUE_END = re.compile(r'\b(call|jmp|ret|j[a-z]+)\b')


def frames(obj):
    out = subprocess.run(['objdump', '-d', '-C', '--no-show-raw-insn', obj],
                         check=True, capture_output=True, text=True).stdout
    name, size, seen, open_ = None, 0, 0, False
    for line in out.splitlines():
        m = FUNC.match(line)
        if m:
            if name is not None:
                yield name, size
            name, size, seen, open_ = m.group(1), 0, 0, True
            continue
        if not open_ or '\t' not in line:
            continue
        seen += 1
        m = SUB_RSP.search(line)
        if m:
            size += int(m.group(1), 16)
            continue
        # The inline probe loop of a frame larger than a page: sub 0x1000 then a jump back.
        if PROLOGUE_END.search(line) and not (size and 'jne' in line) or seen > 40:
            open_ = False
    if name is not None:
        yield name, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--limit', type=int, default=2048)
    ap.add_argument('--datapath-limit', type=int, default=1024)
    ap.add_argument('--top', type=int, default=0, help='also print the N largest frames')
    ap.add_argument('objects', nargs='+')
    args = ap.parse_args()

    every = []
    for spec in args.objects:
        obj, _, only = spec.partition('=')
        only = re.compile(only) if only else None
        best = {}
        for name, size in frames(obj):
            if only is None or only.search(name):
                best[name] = max(size, best.get(name, 0))
        every += [(size, name, obj) for name, size in best.items()]
    every.sort(reverse=True)
    bad = 0
    for size, name, obj in every:
        datapath = bool(DATAPATH.search(name))
        limit = args.datapath_limit if datapath else args.limit
        if size > limit:
            bad += 1
            print(f'frame-sizes: {obj.rsplit("/", 1)[-1]}: {name}: {size} bytes of stack, '
                  f'limit {limit}{" (data path)" if datapath else ""}')
    for size, name, obj in every[:args.top]:
        print(f'  {size:6d}  {name}')
    if bad:
        print(f'frame-sizes: {bad} function(s) over the limit')
        return 1
    print(f'frame-sizes: {len(every)} functions, the largest frame {every[0][0] if every else 0} '
          f'bytes ({every[0][1] if every else "-"})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
