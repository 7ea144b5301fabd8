#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Lists the calls from the given objects into Rust's panic paths (overflow, division by zero,
bounds checks, unwrap on None, explicit panics), per function, largest count first: each is a
kernel BUG if a value the device or user space controls reaches it. A report, not a check.

  panic-calls.py [--top N] OBJECT[=REGEX]...
"""

import argparse
import collections
import re
import subprocess
import sys

FUNC = re.compile(r'^[0-9a-f]+ <(.+)>:$')
CALL = re.compile(r'\bcall\s+[0-9a-f]+ <(.+?)>')
PANIC = re.compile(r'core::panicking::|core::slice::index::.*fail|core::option::unwrap_failed|'
                   r'core::result::unwrap_failed|panic_const|panic_bounds_check')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--top', type=int, default=30)
    ap.add_argument('objects', nargs='+')
    args = ap.parse_args()
    total = 0
    for spec in args.objects:
        obj, _, only = spec.partition('=')
        only = re.compile(only) if only else None
        out = subprocess.run(['objdump', '-d', '-r', '-C', '--no-show-raw-insn', obj],
                             check=True, capture_output=True, text=True).stdout
        per_func = collections.Counter()
        kinds = collections.Counter()
        name = None
        for line in out.splitlines():
            m = FUNC.match(line)
            if m:
                name = m.group(1)
                continue
            if name is None or (only and not only.search(name)):
                continue
            # Module objects are relocatable: the call target is in the relocation line.
            if 'R_X86_64_PLT32' in line or 'call' in line:
                target = line.rsplit('\t', 1)[-1]
                if PANIC.search(target):
                    kind = re.sub(r'[-+]0x[0-9a-f]+$', '', target.split()[-1])
                    per_func[name] += 1
                    kinds[kind] += 1
        count = sum(per_func.values())
        total += count
        print(f'{obj.rsplit("/", 1)[-1]}: {count} calls into panic paths')
        for kind, n in kinds.most_common():
            print(f'    {n:5d}  {kind}')
        for fn, n in per_func.most_common(args.top):
            print(f'  {n:4d}  {fn}')
    print(f'total: {total}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
