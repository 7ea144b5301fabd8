#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Benchmark of the vport arbiter (figures, not a test): builds the KUnit kernel, boots it with
# only the suite mana_rs_shared_vport_bench selected, and prints its figures:
#   - uncontended take+release of a lease against a bare kernel mutex lock+unlock, in the same
#     run (ns per operation and the ratio; the target is at most 2x);
#   - N vports on N threads against N threads on one vport (take+release per second).
# The test kernel has lockdep on, and QEMU emulates the CPU (TCG): compare the ratios, not the
# absolute figures.

. "$(dirname "$0")/lib.sh"

console=$MANA_RS_CACHE/build/e2e/kunit-console.log
MANA_RS_KUNIT_FILTER='mana_rs_shared_vport_bench' "$MANA_RS_REPO/scripts/kunit.sh" >&2 ||
	die "the benchmark run failed (console log: $console)"
figures=$(sed -n 's/^.*mana_gdma: \(mana_rs_shared_vport_bench: .*\)$/\1/p' "$console")
[ -n "$figures" ] || die "no figures in $console"
printf '%s\n' "$figures"
