#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The kernel's driver selftests against mana_eth, inside the QEMU guest of scripts/e2e.sh.

Loads the drivers on a software adapter of two linked ports, keeps eth0 in the initial network
namespace and moves eth1 into the namespace "remote" (the selftests' NETIF mode with
REMOTE_TYPE=netns), gives both IPv4 and IPv6 addresses, then runs each test file named in
/selftests/expected (tests/selftests/expected of the repository) from the kernel tree copied to
/ksrc, with a timeout, and judges every case it reports against the expected result. Prints KTAP
for scripts/ktap.py: suite mana_rs_selftests, one case per case of a test file
(<file>.<case>, e.g. hw/rss_api.test_rxfh_indir_ntf), one per test file (<file>.py: it ran to
its end within its timeout and the link still works after it), and the setup steps.

    run.py              setup, the test files of the list, the kernel log (tests/e2e/init.sh
                        powers off afterwards); the quick run leaves out the files marked
                        `full` and runs the files marked `quick` with the list's arguments;
                        mana_selftests_full=1 on the kernel command line
                        (MANA_RS_SELFTESTS_FULL=1 for scripts/e2e.sh) runs everything
    run.py FILE...      setup and these test files only, with all their cases (e.g.
                        hw/rss_api.py), by hand in `scripts/e2e.sh shell`; the kernel
                        command line's mana_selftests_only=FILE,FILE (MANA_RS_SELFTESTS_ONLY
                        for scripts/e2e.sh) does the same in the default run
                        mana_selftests_repeat=N (MANA_RS_SELFTESTS_REPEAT) runs the files N
                        times; the cases of round k > 1 are named <case>~rk
    run.py --setup      only the setup; prints the environment the tests need

Judgement of a case against its expected result:
    pass    must pass; a failure, a skip or a missing result fails
    skip    the test skips it (a feature MANA does not have): reported as skipped with the
            list's reason; a failure fails; a pass is reported as an unexpected pass
    xfail   fails or skips today (a driver feature not yet implemented, or the environment):
            reported as skipped with the reason; a pass is reported as an unexpected pass
    off     the file is not run at all (reported as one skipped case with the reason)
A case no line matches must pass, and is reported so that it can be listed.
A case that must pass and fails is run once more, alone (at most three per file); if it passes
then, it counts as passed and a note says so (the upstream tests have fixed time windows that a
loaded TCG host can miss). The file's exit status is that of the first run.
"""

import fnmatch
import os
import re
import select
import signal
import subprocess
import sys
import time

KSFT = '/ksrc/tools/testing/selftests'
TESTS = KSFT + '/drivers/net'
EXPECTED = '/selftests/expected'
ENV_FILE = '/selftests/env'
DEFAULT_TIMEOUT = 300
RESULTS = ('pass', 'skip', 'xfail', 'off')

NS = 'remote'
ENV = {
    'NETIF': 'eth0',
    'LOCAL_V4': '192.0.2.1',
    'REMOTE_V4': '192.0.2.2',
    'LOCAL_V6': '2001:db8:1::1',
    'REMOTE_V6': '2001:db8:1::2',
    'REMOTE_TYPE': 'netns',
    'REMOTE_ARGS': NS,
    'NO_COLOR': '1',
    'PYTHONUNBUFFERED': '1',
    # TCG: the tests' own allowance for slow machines (gro.py's large_* timing).
    'KSFT_MACHINE_SLOW': '1',
}
# Kernel log lines that fail the file during which they appear, even if every case passed.
KERNEL_PROBLEM = re.compile(r'NETDEV WATCHDOG|transmit queue \d+ timed out|stuck for \d+ ms')

RESULT = re.compile(r'^(not )?ok (\d+) (\S+?)(?:\s+#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$')
PLAN = re.compile(r'^1\.\.(\d+)$')

counter = 0
failed = 0
notes = []
# The round of a repeated run (mana_selftests_repeat), appended to the case names after the first.
round_suffix = ''


def out(line=''):
    print(line, flush=True)


def diag(text, indent='    '):
    for line in str(text).splitlines() or ['']:
        out(f'{indent}# {line}'.rstrip())


def case(ok, name, directive=None):
    global counter, failed
    counter += 1
    if not ok:
        failed += 1
    out(f"    {'ok' if ok else 'not ok'} {counter} {name}{round_suffix}" +
        (f' # {directive}' if directive else ''))


def note(text):
    notes.append(text)
    diag('note: ' + text)


def sh(command, timeout=60):
    """Runs a shell command; returns (status, output)."""
    try:
        p = subprocess.run(['sh', '-c', command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=dict(os.environ, **ENV))
        return p.returncode, p.stdout.decode(errors='replace')
    except subprocess.TimeoutExpired:
        return 124, f'timed out after {timeout} s: {command}'


# --- the list of expected results --------------------------------------------------------------

class Expected:
    def __init__(self, path):
        self.rules = []          # (file, case glob, result, reason, line number)
        self.timeouts = {}
        self.quick_args = {}     # file -> arguments of the default (quick) run
        self.full_only = set()   # files run only in the full run
        self.errors = []
        with open(path) as f:
            for n, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line.startswith('#'):
                    continue
                words = line.split(None, 3)
                if words[0] == 'timeout':
                    if len(words) != 3 or not words[2].isdigit():
                        self.errors.append(f'line {n}: timeout <file> <seconds>')
                    else:
                        self.timeouts[words[1]] = int(words[2])
                    continue
                if words[0] == 'quick':
                    parts = line.split()
                    if len(parts) < 3:
                        self.errors.append(f'line {n}: quick <file> <arguments...>')
                    else:
                        self.quick_args[parts[1]] = parts[2:]
                    continue
                if words[0] == 'full':
                    if len(words) != 2:
                        self.errors.append(f'line {n}: full <file>')
                    else:
                        self.full_only.add(words[1])
                    continue
                if len(words) < 3 or words[2] not in RESULTS:
                    self.errors.append(f'line {n}: <file> <case> pass|skip|xfail|off [reason]: {line}')
                    continue
                reason = words[3].strip() if len(words) > 3 else ''
                if words[2] != 'pass' and not reason:
                    self.errors.append(f'line {n}: {words[2]} needs a reason')
                    continue
                self.rules.append((words[0], words[1], words[2], reason, n))

    def files(self):
        seen = []
        for f, *_ in self.rules:
            if f not in seen:
                seen.append(f)
        return seen

    def off(self, file):
        for f, c, r, reason, _ in self.rules:
            if f == file and r == 'off':
                return reason
        return None

    def lookup(self, file, name):
        """The first rule of FILE whose case glob matches NAME ('-' is the file itself)."""
        for f, c, r, reason, n in self.rules:
            if f == file and (c == name or (name != '-' and c != '-' and fnmatch.fnmatchcase(name, c))):
                return r, reason, n
        return None

    def concrete(self, file):
        return [(c, r, n) for f, c, r, _, n in self.rules
                if f == file and c != '-' and not any(ch in c for ch in '*?[')]


# --- setup -------------------------------------------------------------------------------------

def setup_steps():
    v4l, v4r, v6l, v6r = ENV['LOCAL_V4'], ENV['REMOTE_V4'], ENV['LOCAL_V6'], ENV['REMOTE_V6']
    return [
        ('setup.modprobe', 'modprobe mana_gdma sw_adapters=1 sw_ports=2 && modprobe mana_eth && '
         'modprobe mana_rdma && ip -br link show eth0 && ip -br link show eth1'),
        ('setup.netns', f'ip netns add {NS} && ip link set dev eth1 netns {NS} && '
         f'ip -n {NS} link set dev lo up && '
         # Tests take the interfaces down and up: keep the static IPv6 addresses meanwhile.
         'sysctl -qw net.ipv6.conf.eth0.keep_addr_on_down=1 && '
         f'ip netns exec {NS} sysctl -qw net.ipv6.conf.eth1.keep_addr_on_down=1 && '
         f'ip addr add {v4l}/24 dev eth0 && ip -6 addr add {v6l}/64 dev eth0 nodad && '
         f'ip -n {NS} addr add {v4r}/24 dev eth1 && ip -n {NS} -6 addr add {v6r}/64 dev eth1 nodad && '
         f'ip link set dev eth0 up && ip -n {NS} link set dev eth1 up && '
         'for i in $(seq 120); do [ "$(cat /sys/class/net/eth0/carrier)" = 1 ] && break; sleep 0.5; done; '
         f'ip -br addr show dev eth0 && ip -n {NS} -br addr show dev eth1'),
        ('setup.ping_v4', f'ping -c 2 -W 5 {v4r} && ip netns exec {NS} ping -c 2 -W 5 {v4l}'),
        ('setup.ping_v6', f'ping -6 -c 2 -W 5 {v6r} && ip netns exec {NS} ping -6 -c 2 -W 5 {v6l}'),
    ]


def write_env():
    with open(ENV_FILE, 'w') as f:
        for k, v in ENV.items():
            f.write(f'export {k}={v}\n')


def link_ok():
    """The state every test file should leave behind: both ends up, addressed, reachable."""
    return sh(f"ip -br addr show dev eth0; ip -n {NS} -br addr show dev eth1; "
              f"ping -c 1 -W 3 {ENV['REMOTE_V4']} > /dev/null && ping -6 -c 1 -W 3 {ENV['REMOTE_V6']} > /dev/null "
              "&& echo link ok")


def repair():
    v4l, v4r, v6l, v6r = ENV['LOCAL_V4'], ENV['REMOTE_V4'], ENV['LOCAL_V6'], ENV['REMOTE_V6']
    sh(f'ip link set dev eth0 up; ip -n {NS} link set dev eth1 up; '
       f'ip addr add {v4l}/24 dev eth0; ip -6 addr add {v6l}/64 dev eth0 nodad; '
       f'ip -n {NS} addr add {v4r}/24 dev eth1; ip -n {NS} -6 addr add {v6r}/64 dev eth1 nodad; '
       # Until both carriers are on (not a fixed 2 s: the next file must find the link up).
       'for i in $(seq 120); do [ "$(cat /sys/class/net/eth0/carrier)'
       f'$(ip netns exec {NS} cat /sys/class/net/eth1/carrier)" = 11 ] && break; sleep 0.5; done')


# --- one test file -----------------------------------------------------------------------------

def dmesg_lines():
    try:
        return subprocess.run(['dmesg'], stdout=subprocess.PIPE).stdout.decode(errors='replace').splitlines()
    except OSError:
        return []


def judge(exp, file, stem, name, outcome, comment):
    """Prints the KTAP line of one reported case."""
    full = f'{stem}.{name}'
    rule = exp.lookup(file, name)
    said = f'{outcome}' + (f' ({comment})' if comment else '')
    if rule is None:
        if outcome == 'pass':
            note(f'{full} passes but is not in tests/selftests/expected: add it as pass')
            case(True, full)
        else:
            diag(f'{full}: {said}, and it is not in tests/selftests/expected')
            case(False, full)
        return
    result, reason, n = rule
    if result == 'pass':
        if outcome != 'pass':
            diag(f'expected to pass (tests/selftests/expected line {n}); the test says: {said}')
        case(outcome == 'pass', full)
    elif outcome == 'pass':
        note(f'unexpected pass: {full} is listed as {result} ({reason}) at tests/selftests/expected '
             f'line {n}: tighten the list')
        case(True, full)
    elif result == 'skip' and outcome == 'fail':
        diag(f'expected to skip (line {n}: {reason}); the test failed')
        case(False, full)
    else:
        label = reason if result == 'skip' else f'xfail: {reason}'
        case(True, full, f'SKIP {label}' + (f' [test: {said}]' if comment or outcome == 'fail' else ''))


def execute(file, path, stem, args, timeout):
    """Runs one test file; streams its output as diagnostics and returns its reported cases
    ([(name, outcome, comment)] in order), its plan, exit status, whether it timed out, and
    its run time."""
    proc = subprocess.Popen(['python3', path] + args, cwd=os.path.dirname(path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=dict(os.environ, **ENV),
                            start_new_session=True)
    reported = []
    plan = None
    timed_out = False
    buf = b''
    start = time.monotonic()
    deadline = start + timeout
    killed_at = None
    while True:
        now = time.monotonic()
        if not timed_out and now > deadline:
            timed_out = True
            diag(f'{file}: timed out after {timeout} s: SIGTERM')
            os.killpg(proc.pid, signal.SIGTERM)
            killed_at = now
        if killed_at is not None and now > killed_at + 20:
            diag(f'{file}: still running 20 s after SIGTERM: SIGKILL')
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = float('inf')
        r, _, _ = select.select([proc.stdout], [], [], 1.0)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b'\n' in buf:
            raw, buf = buf.split(b'\n', 1)
            line = raw.decode(errors='replace').rstrip()
            m = RESULT.match(line)
            if m and m.group(3).startswith(os.path.basename(stem) + '.'):
                name = m.group(3)[len(os.path.basename(stem)) + 1:]
                directive, comment = m.group(4), (m.group(5) or '').strip()
                if directive == 'SKIP':
                    outcome = 'skip'
                elif directive == 'XFAIL':
                    outcome = 'xfail'
                else:
                    outcome = 'pass' if not m.group(1) else 'fail'
                reported.append((name, outcome, comment))
                continue
            if PLAN.match(line) and plan is None:
                plan = int(PLAN.match(line).group(1))
            diag(line)
    if buf:
        diag(buf.decode(errors='replace'))
    status = proc.wait()
    return reported, plan, status, timed_out, time.monotonic() - start


def run_file(exp, file, full):
    stem = file[:-3] if file.endswith('.py') else file
    path = os.path.join(TESTS, file)
    timeout = exp.timeouts.get(file, DEFAULT_TIMEOUT)
    args = [] if full else exp.quick_args.get(file, [])
    out(f'=== selftest {file}{" " + " ".join(args) if args else ""} (timeout {timeout} s) ===')
    reason = exp.off(file)
    if reason is not None:
        case(True, file, f'SKIP off: {reason}')
        return
    if file in exp.full_only and not full:
        case(True, file, 'SKIP runs in the full run only (MANA_RS_SELFTESTS_FULL=1)')
        return
    if not os.path.exists(path):
        diag(f'{path} is missing from the guest (scripts/e2e.sh copies the kernel tree\'s selftests)')
        case(False, file)
        return
    mark = len(dmesg_lines())
    reported, plan, status, timed_out, elapsed = execute(file, path, stem, args, timeout)
    seen = {name: outcome for name, outcome, _ in reported}
    # A case that must pass and failed runs once more, alone. The upstream tests have fixed
    # time windows (csum's receiver gives up 2 s after it starts, before the sender has
    # started under a loaded TCG host): a pass the second time is counted, and said
    # (note: ...), so that a case that keeps needing it is seen and looked at.
    must_pass = [name for name, outcome, _ in reported
                 if outcome == 'fail' and (exp.lookup(file, name) or ('pass',))[0] == 'pass']
    again = {}
    if must_pass and not timed_out and len(must_pass) <= 3:
        diag(f'{file}: running {", ".join(must_pass)} again, alone')
        retry_args = [a for name in must_pass for a in ('-t', name)]
        r2, _, _, _, e2 = execute(file, path, stem, retry_args, timeout)
        elapsed += e2
        again = {name: (outcome, comment) for name, outcome, comment in r2}
    for name, outcome, comment in reported:
        if name in again and again[name][0] == 'pass':
            note(f'{stem}.{name} failed ({comment or "fail"}), then passed when run again alone')
            outcome, comment = again[name]
            seen[name] = outcome
        judge(exp, file, stem, name, outcome, comment)
    # Listed cases that must pass and did not report at all (all of them run without arguments).
    for c, r, n in exp.concrete(file):
        if c not in seen and r == 'pass' and not args:
            diag(f'{stem}.{c} is listed as pass (line {n}) but the test did not report it')
            case(False, f'{stem}.{c}')
    # The file as a whole.
    problems = []
    if timed_out:
        problems.append(f'timed out after {timeout} s')
    if plan is None:
        problems.append(f'printed no KTAP plan (exit status {status})')
    elif len(seen) < plan:
        problems.append(f'reported {len(seen)} of {plan} cases (exit status {status})')
    new = dmesg_lines()[mark:]
    if new:
        diag(f'kernel log during {file}:')
        for line in new[-40:]:
            diag('  ' + line)
    hung = [line for line in new if KERNEL_PROBLEM.search(line)]
    if hung:
        problems.append(f'a transmit queue hung: {hung[0]}')
    rc, state = link_ok()
    if rc != 0:
        problems.append('the link between eth0 and the remote did not work after it')
        diag(state)
        repair()
    diag(f'{file}: {elapsed:.0f} s, exit status {status}, {len(seen)} cases')
    rule = exp.lookup(file, '-')
    if problems and rule and rule[0] in ('xfail', 'skip'):
        diag(f'{file}: ' + '; '.join(problems))
        case(True, file, f'SKIP {rule[0]}: {rule[1]}')
    elif rule and rule[0] in ('xfail', 'skip'):
        note(f'unexpected pass: {file} as a whole is listed as {rule[0]} ({rule[1]}) at '
             f'tests/selftests/expected line {rule[2]}: tighten the list')
        case(True, file)
    else:
        for p in problems:
            diag(f'{file}: {p}')
        case(not problems, file)


def main():
    args = sys.argv[1:]
    if args == ['--setup']:
        for name, command in setup_steps():
            rc, text = sh(command)
            print(f'$ {command}\n{text}[{name}: exit status {rc}]')
            if rc:
                return 1
        write_env()
        print(f'. {ENV_FILE} sets the environment; then e.g. cd {TESTS} && ./hw/rss_api.py')
        return 0

    out('KTAP version 1')
    out('1..1')
    out('    KTAP version 1')
    out('    # Subtest: mana_rs_selftests')
    start = time.monotonic()
    uname = os.uname()
    diag(f'kernel {uname.release}, selftests of {KSFT}, NETIF=eth0, remote eth1 in netns {NS}')
    exp = Expected(EXPECTED)
    for e in exp.errors:
        diag(f'tests/selftests/expected: {e}')
    case(not exp.errors, 'expected_list')

    out('=== selftests setup: drivers, namespace, addresses ===')
    ready = True
    for name, command in setup_steps():
        diag('$ ' + command)
        rc, text = sh(command)
        diag(text)
        case(rc == 0, name)
        if rc != 0:
            ready = False
            break
    write_env()

    cmdline = open('/proc/cmdline').read().split()
    full = 'mana_selftests_full=1' in cmdline or os.environ.get('MANA_RS_SELFTESTS_FULL') == '1'
    only = [f for w in cmdline if w.startswith('mana_selftests_only=')
            for f in w.split('=', 1)[1].split(',') if f]
    rounds = 1
    for w in cmdline:
        if w.startswith('mana_selftests_repeat=') and w.split('=', 1)[1].isdigit():
            rounds = max(1, int(w.split('=', 1)[1]))
    args = args or only
    diag('the full run: every listed file with all its cases' if full else
         'the quick run: files marked full and cases left out by quick are not run '
         '(MANA_RS_SELFTESTS_FULL=1 runs them)')
    files = args or exp.files()
    global round_suffix
    if ready:
        for r in range(1, rounds + 1):
            round_suffix = f'~r{r}' if r > 1 else ''
            if rounds > 1:
                out(f'=== selftests round {r} of {rounds} ===')
            for file in files:
                run_file(exp, file, full or bool(args))
        round_suffix = ''
    else:
        diag('setup failed: no test file ran')
        case(False, 'setup')

    out()
    if notes:
        out('# notes of the selftests stage:')
        for n in notes:
            out(f'# {n}')
    out(f'# selftests stage: {time.monotonic() - start:.0f} s')
    out('# dmesg of the selftests guest:')
    for line in dmesg_lines():
        out('# ' + line)
    out(f"{'ok' if failed == 0 else 'not ok'} 1 mana_rs_selftests")
    return 0


if __name__ == '__main__':
    sys.exit(main())
