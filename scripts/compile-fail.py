#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Runs the compile-fail cases of tests/compile-fail against the built kernel crate.

Usage: compile-fail.py <driver .o.cmd> <cases dir> <scratch dir>, from the build directory.

The rustc command line kbuild saved for a driver crate gives the flags and the kernel crate's
metadata. Each case is compiled twice, as a metadata-only crate: as it is, which must fail and
print every message named by a `// compile-fail: <message>` comment; and without the lines that
carry such a comment, which must succeed (so that a case cannot pass by failing for another
reason). Prints one line per case and exits non-zero if any case is wrong."""

import os
import re
import shlex
import subprocess
import sys

MARK = re.compile(r'//\s*compile-fail:\s*(.*?)\s*$')


def base_command(cmd_file):
    with open(cmd_file) as f:
        line = next(l for l in f if l.startswith('savedcmd_'))
    words = shlex.split(line.split(':=', 1)[1])
    env = {}
    i = 0
    while i < len(words) and '=' in words[i] and not words[i].startswith('-'):
        k, v = words[i].split('=', 1)
        env[k] = v
        i += 1
    rustc = words[i]
    args = []
    rest = words[i + 1:-1]
    j = 0
    while j < len(rest):
        w = rest[j]
        if w == '--out-dir':
            j += 2
            continue
        if w.startswith('--emit') or w.startswith('-Zbinary_dep_depinfo'):
            j += 1
            continue
        if w == '--extern' and j + 1 < len(rest) and rest[j + 1].startswith('mana_'):
            j += 2
            continue
        args.append(w)
        j += 1
    # clippy-driver (CLIPPY=1 builds) behaves as rustc here.
    return env, rustc, args


def compile_case(env, rustc, args, source, name, scratch):
    out = os.path.join(scratch, f'lib{name}.rmeta')
    cmd = [rustc] + args + ['--crate-name', name, '--emit=metadata', '-o', out, source]
    run_env = dict(os.environ)
    # Kbuild builds the kernel's Rust with the unstable options of a stable compiler.
    run_env['RUSTC_BOOTSTRAP'] = '1'
    run_env.update(env)
    p = subprocess.run(cmd, env=run_env, capture_output=True, text=True)
    return p.returncode, p.stderr


def main():
    cmd_file, cases, scratch = sys.argv[1:4]
    os.makedirs(scratch, exist_ok=True)
    env, rustc, args = base_command(cmd_file)
    failed = 0
    for case in sorted(os.listdir(cases)):
        if not case.endswith('.rs'):
            continue
        path = os.path.join(cases, case)
        name = 'compile_fail_' + case[:-3]
        with open(path) as f:
            lines = f.readlines()
        expected = [m.group(1) for l in lines if (m := MARK.search(l))]
        if not expected:
            print(f'not ok {case}: no `// compile-fail:` line')
            failed += 1
            continue
        rc, err = compile_case(env, rustc, args, path, name, scratch)
        missing = [e for e in expected if e not in err]
        if rc == 0 or missing:
            print(f'not ok {case}: ' + ('it compiles' if rc == 0 else f'no error {missing!r}'))
            sys.stdout.write(err[-3000:])
            failed += 1
            continue
        control = os.path.join(scratch, case)
        with open(control, 'w') as f:
            f.writelines(l for l in lines if not MARK.search(l))
        rc, err = compile_case(env, rustc, args, control, name + '_control', scratch)
        if rc != 0:
            print(f'not ok {case}: fails without its compile-fail lines too')
            sys.stdout.write(err[-3000:])
            failed += 1
            continue
        print(f'ok {case} ({len(expected)} rejected)')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
