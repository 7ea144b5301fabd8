#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the Rust abstractions of mana-rs as format-patch series against the pinned kernel.

    patches.py TREE PRISTINE REPO OUT

TREE is the kernel tree (for the files mana-rs does not change), PRISTINE the pristine copies
of the tree files mana-rs changes (scripts/prepare-tree.sh keeps them), REPO the repository,
OUT the directory the series go to (OUT/<NN-name>/*.patch, each series with a cover letter).

Every patch is made from the repository's rust/ as it is: new files from rust/kernel and
rust/helpers, lines of rust/append/<path> inserted where the tree keeps such lines sorted (module
lists, helper and header includes), whole rust/append files appended, and rust/patch/*.patch
applied. SERIES below only says which patch takes what, in which order, and what it says.
A file that a later patch extends (a module and its KUnit tests) is first added without the lines
`drop` names.

It also writes OUT/steps: one line per patch, "<series>/<patch file>", in application order, for
`patches.sh check`.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

# Operations of a patch:
#   ("new", path[, drop])   add rust/<path> of the repository (drop: regexes of lines to leave out
#                           for now, each with the attribute lines just above it)
#   ("full", path)          the complete file, after a ("new", path, drop)
#   ("mod", name)           rust/kernel/lib.rs: `pub mod name;` with its attributes, as in
#                           rust/append/rust/kernel/lib.rs, in sorted position
#   ("include", path, line) insert an #include line (from rust/append/<path>) in sorted position
#   ("const", path, line)   a RUST_CONST_HELPER line of bindings_helper.h, after the last of its type
#   ("append", path)        append rust/append/<path>
#   ("patch", name)         apply rust/patch/<name>
SERIES = [
    {
        "name": "01-infra",
        "subject": "rust: workqueue, irq, pci and rate limiting additions for drivers",
        "cover": """\
Small additions to existing Rust abstractions that a Rust network/RDMA driver needs (mana-rs,
the Rust drivers of the Microsoft Azure Network Adapter, uses each of them):

- workqueue: spawning a closure on any queue with one lock class per call site of the generic
  code, and workqueues a driver allocates and owns (alloc_workqueue/destroy_workqueue);
- CondVar::wait_timeout (uninterruptible);
- irq: set_affinity() on a registration, to spread queue vectors over CPUs;
- pci: an optional Driver::shutdown, as i2c::Driver has one;
- a rate-limit state for drivers' user-triggerable messages.

The series applies to Linux 7.3 and builds after every patch.
""",
        "patches": [
            {
                "subject": "rust: workqueue: add Queue::spawn",
                "body": """\
Add Queue::spawn(), which runs a closure on a workqueue. Its work item has one static lock
class, named after the call site of the abstraction rather than after the caller, so generic
code instantiated in several modules does not create a lock class per instance.
""",
                "ops": [("append", "rust/kernel/workqueue.rs")],
            },
            {
                "subject": "rust: workqueue: add workqueues owned by a driver",
                "body": """\
Add OwnedQueue, a workqueue allocated with alloc_workqueue() and destroyed (after draining it)
when dropped, for drivers that need ordering or flushing separate from the system queues.
""",
                "ops": [("new", "rust/kernel/owned_workqueue.rs"), ("mod", "owned_workqueue")],
            },
            {
                "subject": "rust: sync: add CondVar::wait_timeout",
                "body": """\
Add an uninterruptible timed wait to CondVar, for waits on a device that a signal must not cut
short (a reply the device still writes into a driver buffer).
""",
                "ops": [("append", "rust/kernel/sync/condvar.rs")],
            },
            {
                "subject": "rust: irq: add set_affinity to IRQ registrations",
                "body": """\
Let a driver set the affinity of an interrupt it registered (irq_set_affinity()), so that
per-queue vectors can be spread over the CPUs as C drivers do.
""",
                "ops": [("append", "rust/kernel/irq/request.rs")],
            },
            {
                "subject": "rust: pci: add an optional Driver::shutdown",
                "body": """\
Add the PCI driver's shutdown callback as an optional method of pci::Driver, as i2c::Driver has
one: at reboot, power-off or kexec a driver stops its device's DMA and interrupts so that the
device does not write memory the next kernel owns. The callback runs for a bound device under
the device lock, so it can borrow the driver's data as unbind does.
""",
                "ops": [("patch", "pci-shutdown.patch")],
            },
            {
                "subject": "rust: add a rate limit for driver messages",
                "body": """\
Add ratelimit::RateLimit, a ratelimit_state a driver embeds, and the macros that print through
it, so that every message user space can trigger is rate limited.
""",
                "ops": [("new", "rust/kernel/ratelimit.rs"), ("mod", "ratelimit")],
            },
        ],
    },
    {
        "name": "02-netdev",
        "subject": "rust: netdev: network device, NAPI, sk_buff, ethtool and streaming DMA",
        "cover": """\
This series adds Rust abstractions for an Ethernet driver's network device and data path:

- netdev::Device and Registration: alloc_etherdev_mqs() with the driver's private data,
  register_netdev()/unregister_netdev(), and the net_device_ops a driver implements through a
  #[vtable] trait (open/stop/start_xmit/tx_timeout/get_stats64/set_features/change_mtu/...);
- NAPI contexts whose poll owns its queue state exclusively, and per-queue u64_stats counters;
- sk_buff ownership for transmit and receive, including pages shared with the device;
- ethtool_ops (channels, rings, RSS, statistics, private flags) and the queue statistics API;
- XDP: native programs on receive, XDP_TX, redirect and ndo_xdp_xmit;
- streaming DMA mappings of pages and packets (dma_map_page/dma_map_single and syncs), where
  safe code reaches the bytes only while the CPU owns them.

It depends on the series "rust: workqueue, irq, pci and rate limiting additions for drivers".
The user is mana-rs, a Rust driver of the Microsoft Azure Network Adapter. Every patch builds;
the last one adds the KUnit suites, which run against a faux device.
""",
        "patches": [
            {
                "subject": "rust: netdev: add C helpers and bindings",
                "body": """\
Add the bindings of the network device, GRO, XDP and DMA mapping headers, and the helpers for
the inline functions and macros the abstractions call (netdev_priv, netif_napi_add, the sk_buff
accessors, the tx queue state, u64_stats).
""",
                "ops": [
                    ("new", "rust/helpers/netdev.c"),
                    ("new", "rust/helpers/xdp.c"),
                    ("new", "rust/helpers/dma_stream.c"),
                    ("new", "rust/helpers/u64_stats.c"),
                    ("include", "rust/helpers/helpers.c", '#include "netdev.c"'),
                    ("include", "rust/helpers/helpers.c", '#include "xdp.c"'),
                    ("include", "rust/helpers/helpers.c", '#include "dma_stream.c"'),
                    ("include", "rust/helpers/helpers.c", '#include "u64_stats.c"'),
                    ("include", "rust/bindings/bindings_helper.h", "#include <linux/etherdevice.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <linux/netdevice.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <net/netdev_queues.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <net/netdev_rx_queue.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <net/gro.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <linux/dma-mapping.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <linux/bpf.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <linux/filter.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <net/xdp.h>"),
                    ("const", "rust/bindings/bindings_helper.h",
                     "const gfp_t RUST_CONST_HELPER___GFP_COMP = __GFP_COMP;"),
                ],
            },
            {
                "subject": "rust: netdev: add network devices, NAPI, sk_buff, ethtool and XDP",
                "body": """\
Add kernel::netdev: the network device with the driver's private data and its registration,
net_device_ops through a #[vtable] trait, NAPI contexts, sk_buff ownership, ethtool_ops, the
queue statistics API and native XDP; kernel::dma_stream, the streaming DMA mappings of pages and
packets the data path needs; and kernel::u64_stats for per-queue counters.

The three depend on each other (a received page becomes an sk_buff or an XDP buffer only
through the mapping that owns it), so they come in one patch.
""",
                "ops": [
                    ("new", "rust/kernel/netdev.rs", [r"^mod tests;$"]),
                    ("new", "rust/kernel/netdev/ethtool.rs"),
                    ("new", "rust/kernel/netdev/napi.rs"),
                    ("new", "rust/kernel/netdev/queue_stats.rs"),
                    ("new", "rust/kernel/netdev/skb.rs"),
                    ("new", "rust/kernel/netdev/xdp.rs"),
                    ("new", "rust/kernel/dma_stream.rs"),
                    ("new", "rust/kernel/u64_stats.rs"),
                    ("mod", "netdev"),
                    ("mod", "dma_stream"),
                    ("mod", "u64_stats"),
                ],
            },
            {
                "subject": "rust: netdev: add KUnit tests",
                "body": """\
Test the network device abstraction on a faux device through the core's own paths: open and
stop through dev_open()/dev_close(), transmit through dev_queue_xmit(), NAPI scheduling and
polling, ethtool through dev_ethtool(), and the compile-time guarantees as doctests.
""",
                "ops": [("new", "rust/kernel/netdev/tests.rs"), ("full", "rust/kernel/netdev.rs")],
            },
        ],
    },
    {
        "name": "03-rdma",
        "subject": "rust: rdma: ib_device, verbs objects, udata, umem and mmap",
        "cover": """\
This series adds Rust abstractions for an RDMA driver that exposes its device to user space
through uverbs:

- rdma::Device and Registration: ib_alloc_device() with the driver's private data,
  ib_register_device()/ib_unregister_device(), and ib_device_ops through a #[vtable] trait;
- the verbs objects (PD, CQ, WQ, QP, RWQ indirection table, MR) whose driver data the core
  allocates (INIT_RDMA_OBJ_SIZE) and the abstraction initializes and drops;
- udata: the driver's request and response, with the uverbs compatibility rules;
- umem: pinned user memory, taken from the calling process only;
- mmap entries for doorbell pages.

It depends on the series "rust: workqueue, irq, pci and rate limiting additions for drivers"
and, for its KUnit tests (which attach a faux network device), on "rust: netdev".
The user is mana-rs, a Rust driver of the Microsoft Azure Network Adapter.
""",
        "patches": [
            {
                "subject": "rust: rdma: add C helpers and bindings",
                "body": """\
Add the bindings of the RDMA core and umem headers, and helpers for the inline functions and
macros the abstraction calls (the udata's user context, umem block iteration, mmap entries).
""",
                "ops": [
                    ("new", "rust/helpers/rdma.c"),
                    ("include", "rust/helpers/helpers.c", '#include "rdma.c"'),
                    ("include", "rust/bindings/bindings_helper.h", "#include <rdma/ib_verbs.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <rdma/ib_umem.h>"),
                    ("include", "rust/bindings/bindings_helper.h", "#include <rdma/iter.h>"),
                ],
            },
            {
                "subject": "rust: rdma: add ib_device, verbs objects, udata, umem and mmap",
                "body": """\
Add kernel::rdma: the IB device with the driver's private data and its registration,
ib_device_ops through a #[vtable] trait, the verbs objects the core allocates for the driver,
udata, umem and user mmap entries.
""",
                "ops": [
                    ("new", "rust/kernel/rdma.rs", [r"^mod tests;$", r"^pub mod testing;$"]),
                    ("new", "rust/kernel/rdma/adapter.rs"),
                    ("new", "rust/kernel/rdma/attr.rs"),
                    ("new", "rust/kernel/rdma/mmap.rs"),
                    ("new", "rust/kernel/rdma/object.rs"),
                    ("new", "rust/kernel/rdma/udata.rs"),
                    ("new", "rust/kernel/rdma/umem.rs"),
                    ("mod", "rdma"),
                ],
            },
            {
                "subject": "rust: rdma: add KUnit tests",
                "body": """\
Add rdma::testing, which drives a registered device through the core as uverbs does (user
contexts, objects, mmap entries and a file whose mmap() calls the driver), and the KUnit
suites of the device, udata, umem, the objects and their teardown order, and user mappings.
""",
                "ops": [
                    ("new", "rust/kernel/rdma/testing.rs"),
                    ("new", "rust/kernel/rdma/tests.rs"),
                    ("new", "rust/kernel/rdma/tests/mmap.rs"),
                    ("new", "rust/kernel/rdma/tests/objects.rs"),
                    ("full", "rust/kernel/rdma.rs"),
                ],
            },
        ],
    },
]


def die(msg):
    print(f"patches: {msg}", file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def drop_lines(text, patterns):
    """Leaves out the lines matching one of `patterns`, with the attribute lines just above."""
    out = text.split("\n")
    for pat in patterns:
        rx = re.compile(pat)
        idx = [i for i, line in enumerate(out) if rx.match(line)]
        if not idx:
            die(f"no line matches {pat}")
        i = idx[0]
        j = i
        while j > 0 and out[j - 1].startswith("#["):
            j -= 1
        # A blank line left on both sides would make two.
        if j > 0 and out[j - 1] == "" and i + 1 < len(out) and out[i + 1] == "":
            i += 1
        del out[j : i + 1]
    return "\n".join(out)


def mod_unit(repo, name):
    """`pub mod name;` and its attribute lines from rust/append/rust/kernel/lib.rs."""
    lines = read(f"{repo}/rust/append/rust/kernel/lib.rs").split("\n")
    for i, line in enumerate(lines):
        if line == f"pub mod {name};":
            j = i
            while j > 0 and lines[j - 1].startswith("#["):
                j -= 1
            return lines[j : i + 1]
    die(f"rust/append/rust/kernel/lib.rs has no `pub mod {name};`")


MOD_RX = re.compile(r"^pub mod ([a-z0-9_]+);$")


def insert_mod(text, unit, name):
    lines = text.split("\n")
    mods = [i for i, line in enumerate(lines) if MOD_RX.match(line)]
    if not mods:
        die("lib.rs has no module list")
    at = None
    for i in mods:
        if MOD_RX.match(lines[i]).group(1) > name:
            at = i
            while at > 0 and lines[at - 1].startswith("#["):
                at -= 1
            break
    if at is None:
        at = mods[-1] + 1
    return "\n".join(lines[:at] + unit + lines[at:])


def insert_include(text, line):
    """Inserts `line` into the longest run of #include lines of its kind, in sorted position."""
    lines = text.split("\n")
    if line in lines:
        return text
    kind = line[: line.index(" ") + 2]  # '#include <' or '#include "'
    best, run = (0, 0), None
    for i, cur in enumerate(lines + [""]):
        if cur.startswith(kind):
            run = (run[0], i + 1) if run else (i, i + 1)
        elif run:
            if run[1] - run[0] > best[1] - best[0]:
                best = run
            run = None
    if best == (0, 0):
        die(f"no run of {kind!r} lines")
    # After the last line of the same directory that sorts before it (the runs are sorted by
    # directory, not always across directories).
    prefix = line[: line.rindex("/") + 1] if "/" in line else kind
    same = [i for i in range(best[0], best[1]) if lines[i].startswith(prefix)]
    before = [i for i in same if lines[i] < line]
    if before:
        at = before[-1] + 1
    elif same:
        at = same[0]
    else:
        after = [i for i in range(best[0], best[1]) if lines[i] > line]
        at = after[0] if after else best[1]
    return "\n".join(lines[:at] + [line] + lines[at:])


def insert_const(text, line):
    lines = text.split("\n")
    prefix = line.split(" RUST_CONST_HELPER_")[0] + " RUST_CONST_HELPER_"
    idx = [i for i, cur in enumerate(lines) if cur.startswith(prefix)]
    if not idx:
        die(f"no {prefix} line")
    at = idx[-1] + 1
    return "\n".join(lines[:at] + [line] + lines[at:])


def git(work, *args, **kw):
    return subprocess.run(["git", "-C", work, *args], check=True, text=True,
                          stdout=subprocess.PIPE, **kw).stdout


def main():
    if len(sys.argv) != 5:
        die(__doc__)
    tree, pristine, repo, out = sys.argv[1:]

    # Which tree files the series change, and where each appended line comes from.
    touched = set()
    for series in SERIES:
        for patch in series["patches"]:
            for op in patch["ops"]:
                if op[0] in ("mod",):
                    touched.add("rust/kernel/lib.rs")
                elif op[0] in ("include", "const", "append"):
                    touched.add(op[1])
                elif op[0] == "patch":
                    for m in re.finditer(r"^\+\+\+ b/(\S+)", read(f"{repo}/rust/patch/{op[1]}"), re.M):
                        touched.add(m.group(1))

    # Everything under rust/ of the repository must be in some patch, so the series stay true.
    covered = set()
    for series in SERIES:
        for patch in series["patches"]:
            for op in patch["ops"]:
                if op[0] in ("new", "append"):
                    covered.add(op[1] if op[0] == "new" else "rust/append/" + op[1])
                elif op[0] == "patch":
                    covered.add("rust/patch/" + op[1])
    mods = {MOD_RX.match(line).group(1) for line in read(f"{repo}/rust/append/rust/kernel/lib.rs").split("\n")
            if MOD_RX.match(line)}
    used_mods = {op[1] for s in SERIES for p in s["patches"] for op in p["ops"] if op[0] == "mod"}
    missing = []
    for top in ("rust/kernel", "rust/helpers", "rust/patch"):
        for root, _, files in os.walk(f"{repo}/{top}"):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), repo)
                if rel not in covered:
                    missing.append(rel)
    listed = ("rust/append/rust/kernel/lib.rs", "rust/append/rust/helpers/helpers.c",
              "rust/append/rust/bindings/bindings_helper.h")
    for root, _, files in os.walk(f"{repo}/rust/append"):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), repo)
            if rel not in listed and rel not in covered:
                missing.append(rel)
    missing += [f"rust/kernel/lib.rs: pub mod {m};" for m in sorted(mods - used_mods)]
    for f in ("helpers/helpers.c", "bindings/bindings_helper.h"):
        wanted = {line for line in read(f"{repo}/rust/append/rust/{f}").split("\n") if line.strip()}
        have = {op[2] for s in SERIES for p in s["patches"] for op in p["ops"]
                if op[0] in ("include", "const") and op[1] == f"rust/{f}"}
        missing += [f"rust/{f}: {line}" for line in sorted(wanted - have) if not line.startswith(("/*", " *"))]
    if missing:
        die("in no patch of scripts/patches.py:\n  " + "\n  ".join(missing))

    # Fixed dates: the same rust/ gives the same series, byte for byte.
    os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = "2026-12-01T00:00:00+0000"
    work = tempfile.mkdtemp(prefix="mana-rs-patches.")
    try:
        git(work, "init", "-q")
        git(work, "config", "user.name", os.environ.get("MANA_RS_PATCH_AUTHOR_NAME", "mana-rs"))
        git(work, "config", "user.email",
            os.environ.get("MANA_RS_PATCH_AUTHOR_EMAIL", "mana-rs@example.invalid"))
        for rel in sorted(touched):
            src = f"{pristine}/{rel}" if os.path.exists(f"{pristine}/{rel}") else f"{tree}/{rel}"
            os.makedirs(os.path.dirname(f"{work}/{rel}"), exist_ok=True)
            shutil.copyfile(src, f"{work}/{rel}")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "Linux 7.3 (the files the series change)")

        if os.path.exists(out):
            shutil.rmtree(out)
        steps = []
        for series in SERIES:
            base = git(work, "rev-parse", "HEAD").strip()
            for patch in series["patches"]:
                for op in patch["ops"]:
                    kind, path = op[0], op[1]
                    if kind == "new":
                        text = read(f"{repo}/{path}")
                        if len(op) > 2:
                            text = drop_lines(text, op[2])
                        write(f"{work}/{path}", text)
                    elif kind == "full":
                        write(f"{work}/{path}", read(f"{repo}/{path}"))
                    elif kind == "mod":
                        lib = f"{work}/rust/kernel/lib.rs"
                        write(lib, insert_mod(read(lib), mod_unit(repo, path), path))
                    elif kind == "include":
                        write(f"{work}/{path}", insert_include(read(f"{work}/{path}"), op[2]))
                    elif kind == "const":
                        write(f"{work}/{path}", insert_const(read(f"{work}/{path}"), op[2]))
                    elif kind == "append":
                        text = read(f"{work}/{path}").rstrip("\n") + "\n\n"
                        write(f"{work}/{path}", text + read(f"{repo}/rust/append/{path}"))
                    elif kind == "patch":
                        subprocess.run(["patch", "-s", "-p1", "-d", work, "--no-backup-if-mismatch",
                                        "-i", f"{repo}/rust/patch/{path}"], check=True)
                    else:
                        die(f"unknown operation {kind}")
                git(work, "add", "-A")
                signoff = f"Signed-off-by: {git(work, 'config', 'user.name').strip()} " \
                    f"<{git(work, 'config', 'user.email').strip()}>"
                body = "\n\n".join(textwrap.fill(par, 72) for par in patch["body"].strip().split("\n\n"))
                msg = f"{patch['subject']}\n\n{body}\n\n{signoff}\n"
                git(work, "commit", "-q", "-F", "-", input=msg)
            sdir = f"{out}/{series['name']}"
            cover_text = f"{series['subject']}\n\n{series['cover']}"
            files = git(work, "format-patch", "--cover-letter", "--cover-from-description=subject",
                        f"--description-file=/dev/stdin", "--subject-prefix=PATCH RFC",
                        "--no-signature", "-o", sdir, f"{base}..HEAD", input=cover_text).split()
            steps += [f"{series['name']}/{os.path.basename(f)}" for f in files
                      if not f.endswith("0000-cover-letter.patch")]
        write(f"{out}/steps", "\n".join(steps) + "\n")
        print(f"patches: {sum(len(s['patches']) for s in SERIES)} patches in {len(SERIES)} series under {out}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
