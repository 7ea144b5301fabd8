#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Reads the console log of a KUnit boot (and of the end-to-end boot, whose scenario prints KTAP
too) and reports them.

Prints each suite's result and every failed case with its diagnostics, then, as the last line,
`N passed, N failed` (with `, N skipped` where any). Exits 1 if a case failed, the kernel
crashed or reported a lock or memory problem, the run did not finish, or an expected suite is
missing.
"""

import argparse
import re
import sys

TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT = re.compile(r'^(ok|not ok) (\d+) (\S.*?)(?:\s+#\s*(SKIP|TODO)\b(.*))?$')
PLAN = re.compile(r'^1\.\.(\d+)$')
# Kernel reports that fail a run even when every case passed.
CRASH = re.compile(
    r'Kernel panic|BUG: |Oops: |general protection fault|'
    r'WARNING: .*(lock|at )|possible circular locking|possible recursive locking|'
    r'inconsistent lock state|suspicious RCU usage|unreferenced object|'
    r'rust_panic|panicked at')


def parse(lines):
    results = []          # (depth, status, name, skipped, diagnostics)
    children = {}         # depth -> results seen at that depth since the last parent closed
    plan = None
    diag = {}
    problems = []
    for raw in lines:
        line = TIMESTAMP.sub('', raw.rstrip('\n'))
        if CRASH.search(line):
            problems.append(line.strip())
        stripped = line.lstrip(' ')
        depth = (len(line) - len(stripped)) // 4
        if depth == 0 and plan is None:
            m = PLAN.match(stripped)
            if m:
                plan = int(m.group(1))
                continue
        m = RESULT.match(stripped)
        if m:
            status, _, name, directive, reason = m.groups()
            is_parent = children.get(depth + 1, 0) > 0
            children[depth + 1] = 0
            children[depth] = children.get(depth, 0) + 1
            results.append((depth, status == 'ok', name, directive == 'SKIP', is_parent,
                            diag.pop(depth, []) + ([f'# SKIP{reason}'] if directive == 'SKIP' else [])))
            continue
        if stripped.startswith('# ') and not stripped.startswith('# Subtest'):
            diag.setdefault(depth, []).append(stripped)
    return plan, results, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('logs', nargs='+', metavar='log',
                    help='console logs; the first is the KUnit run, the others (the end-to-end '
                         'run) are counted into the same summary')
    ap.add_argument('--expect', action='append', default=[],
                    help='file listing the suites that must run (may be given more than once)')
    ap.add_argument('--require', action='append', default=[], metavar='SUITE',
                    help='a suite that must run (a stage that ran; may be given more than once)')
    args = ap.parse_args()

    passed = failed = skipped = 0
    errors = []
    suites = {}
    for index, log in enumerate(args.logs):
        try:
            with open(log, errors='replace') as f:
                plan, results, problems = parse(f)
        except OSError as e:
            errors.append(f'cannot read {log}: {e.strerror}')
            continue
        for depth, ok, name, skip, is_parent, diag in results:
            if depth == 0:
                suites[name] = ok
                print(f"{'ok' if ok else 'FAILED'}: suite {name}")
                continue
            if is_parent:
                continue
            if skip:
                skipped += 1
                print(f'  skipped: {name} ({diag[-1][len("# SKIP"):].strip()})')
            elif ok:
                passed += 1
            else:
                failed += 1
                print(f'  not ok: {name}')
                for d in diag[-20:]:
                    print(f'    {d}')
        top = [r for r in results if r[0] == 0]
        if plan is None:
            errors.append('no KTAP output: the kernel did not run KUnit (see the console log)'
                          if index == 0 else f'no KTAP output in {log}: the guest did not run')
        elif len(top) < plan:
            errors.append(f'the run stopped after {len(top)} of {plan} suites: crash or timeout'
                          + (f' ({log})' if index else ''))
        for p in problems[:10]:
            errors.append(f'kernel reported: {p}' + (f' ({log})' if index else ''))
    for path in args.expect + [None] * bool(args.require):
        if path is None:
            expected = args.require
        else:
            with open(path) as f:
                expected = [l.strip() for l in f if l.strip() and not l.startswith('#')]
        for s in expected:
            if s not in suites:
                errors.append(f'expected suite {s} did not run')
    for e in errors:
        print(f'error: {e}')
    summary = f'{passed} passed, {failed} failed'
    if skipped:
        summary += f', {skipped} skipped'
    print(summary)
    return 1 if failed or errors or (passed == 0) else 0


if __name__ == '__main__':
    sys.exit(main())
