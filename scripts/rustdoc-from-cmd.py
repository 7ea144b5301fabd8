#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns the rustc command line kbuild saved for a driver crate (.<crate>.o.cmd) into a rustdoc
command line with warnings as errors, and prints it (run it from the build directory).

Kbuild has no rustdoc target for driver crates, only for the kernel crate."""

import shlex
import sys

# Everything that shapes the crate's metadata must match the build (target modifiers such as
# -Zcf-protection or -Cpanic included), or rustdoc cannot load the core crate's metadata.
KEEP_PREFIXES = ('--edition', '--target', '--extern', '--sysroot', '--crate-type', '--cfg',
                 '-L', '@', '-D', '-W', '-A', '-Z', '-C')
DROP = ('-Zbinary_dep_depinfo', '-Cembed-bitcode', '-Clto', '-Ccodegen-units')
TAKES_VALUE = {'--extern', '-L', '--crate-type', '--cfg', '--sysroot'}


def main():
    cmd_file, out_dir = sys.argv[1], sys.argv[2]
    with open(cmd_file) as f:
        line = next(l for l in f if l.startswith('savedcmd_'))
    words = shlex.split(line.split(':=', 1)[1])
    env, args = [], []
    i = 0
    while i < len(words) and '=' in words[i] and not words[i].startswith('-'):
        env.append(words[i])
        i += 1
    i += 1  # rustc / clippy-driver
    source = words[-1]
    rest = words[i:-1]
    j = 0
    while j < len(rest):
        w = rest[j]
        if w in TAKES_VALUE and j + 1 < len(rest):
            args += [w, rest[j + 1]]
            j += 2
            continue
        if w.startswith('-Wclippy') or w.startswith('-Aclippy'):
            j += 1
            continue
        if w.startswith(KEEP_PREFIXES) and not w.startswith(DROP):
            args.append(w)
        j += 1
    print(' '.join(['env', 'RUSTC_BOOTSTRAP=1'] + [shlex.quote(e) for e in env] +
                   ['rustdoc', '--document-private-items', '-Dwarnings', '-o', shlex.quote(out_dir)] +
                   [shlex.quote(a) for a in args] + [shlex.quote(source)]))


if __name__ == '__main__':
    main()
