#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make test`: builds the one test kernel (scripts/kernel.sh: the drivers as modules, KUnit,
# SMP), checks the built objects (scripts/build-checks.sh: stack frames, objtool), runs the cargo
# tests of the host-side crates under tools/ (scripts/cargo-tests.sh), boots the
# kernel in QEMU (TCG) to run the KUnit suites (scripts/e2e.sh kunit, tests/kunit/run.sh), then
# boots it again for the end-to-end scenario (scripts/e2e.sh test), and reports everything through
# scripts/ktap.py, whose last line is "N passed, N failed".
#
# MANA_RS_KUNIT_FILTER=glob runs only the matching KUnit suites (e.g. 'mana_rs_shared_vport*')
#   and skips the end-to-end scenario.
# MANA_RS_KUNIT_FULL=1 also runs the long versions of the loops (`make test-full`).
# MANA_RS_KUNIT_TIMEOUT=seconds bounds the KUnit boot (default 900).
# MANA_RS_E2E=0 skips the end-to-end scenario; MANA_RS_PCI=0 skips the PCI stage.
# MANA_RS_SELFTESTS=0 skips the kernel's driver selftests (scripts/e2e.sh selftests, judged
#   against tests/selftests/expected), which run after the end-to-end scenario, on the same
#   kernel; a filtered run (MANA_RS_KUNIT_FILTER) skips them too.

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs (a long test boot) cannot change what the running copy does.
{

"$MANA_RS_REPO/scripts/kernel.sh"
export MANA_RS_KERNEL_BUILT=1
logs=()
checks=$MANA_RS_CACHE/build/build-checks.ktap
"$MANA_RS_REPO/scripts/build-checks.sh" --ktap > "$checks" || true
logs+=("$checks")
# The host-side crates (tools/): their own cargo tests.
if [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	info "cargo test of the crates under tools/"
	tools=$MANA_RS_CACHE/build/cargo-tests.ktap
	"$MANA_RS_REPO/scripts/cargo-tests.sh" > "$tools" || true
	logs+=("$tools")
fi

console=$("$MANA_RS_REPO/scripts/e2e.sh" kunit)
logs=("$console" "${logs[@]}")
expect=()
if [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	expect=(--expect "$MANA_RS_REPO/tests/kunit/expected-suites")
	[ "${MANA_RS_KUNIT_FULL:-0}" = 0 ] || expect+=(--expect "$MANA_RS_REPO/tests/kunit/expected-suites-full")
fi
if [ "${MANA_RS_E2E:-1}" != 0 ] && [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	e2e_console=$("$MANA_RS_REPO/scripts/e2e.sh" test) || warn "the end-to-end run did not complete (see above)"
	logs+=("${e2e_console:-$MANA_RS_CACHE/build/e2e/console.log}")
fi
if [ "${MANA_RS_SELFTESTS:-1}" != 0 ] && [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	st_console=$("$MANA_RS_REPO/scripts/e2e.sh" selftests) || warn "the selftests run did not complete (see above)"
	logs+=("${st_console:-$MANA_RS_CACHE/build/e2e/selftests-console.log}")
fi
# The PCI stage: the emulated MANA VF (tools/mana-vfio-user) in QEMU 11.1 with the vfio-user
# client, the project's kernel; how far the C driver and mana_gdma get through PCI probe.
if [ "${MANA_RS_PCI:-1}" != 0 ] && [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	info "the PCI stage (scripts/pci-smoke.sh with the test kernel)"
	pci_log=$MANA_RS_CACHE/build/pci-smoke.log
	MANA_RS_PCI_KERNEL=project "$MANA_RS_REPO/scripts/pci-smoke.sh" > "$pci_log" 2>&1 || true
	pci_ktap=$MANA_RS_CACHE/build/pci-smoke.ktap
	# Its "ok - <what>" lines as the KTAP suite mana_rs_pci.
	awk '
		{ sub(/\r$/, "") }
		/^ok - / { n++; sub(/^ok - /, ""); cases[n] = "ok " n " " $0; next }
		/^not ok - / { n++; bad = 1; sub(/^not ok - /, ""); cases[n] = "not ok " n " " $0; next }
		END {
			if (n == 0) { n = 1; bad = 1; cases[1] = "not ok 1 the PCI stage ran (see " FILENAME ")" }
			print "KTAP version 1"; print "1..1"; print "    KTAP version 1"
			print "    # Subtest: mana_rs_pci"; print "    1.." n
			for (i = 1; i <= n; i++) print "    " cases[i]
			print ((bad || n == 0) ? "not ok" : "ok") " 1 mana_rs_pci"
		}' "$pci_log" > "$pci_ktap"
	logs+=("$pci_ktap")
fi
python3 "$MANA_RS_REPO/scripts/ktap.py" "${logs[@]}" "${expect[@]}" || {
	echo "console log: $console" >&2
	exit 1
}
exit
}
