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
# MANA_RS_KUNIT_TIMEOUT=seconds bounds the KUnit boot (default 2400); a guest whose console stays
# silent for MANA_RS_GUEST_STALL seconds (default 600) is stopped as hung (scripts/e2e.sh).
# MANA_RS_E2E=0 skips the end-to-end scenario; MANA_RS_PCI=0 skips the PCI stage;
#   MANA_RS_DPDK=0 skips the DPDK stage (testpmd on the PCI device, scripts/dpdk-smoke.sh).
# MANA_RS_SELFTESTS=0 skips the kernel's driver selftests (scripts/e2e.sh selftests, judged
#   against tests/selftests/expected), on the same kernel; a filtered run (MANA_RS_KUNIT_FILTER)
#   skips them too.
# The guests boot in two lanes side by side (the selftests, the DPDK stage | KUnit, the
#   end-to-end scenario, the PCI stage; without the selftests: KUnit, the PCI stage, the DPDK
#   stage | the end-to-end scenario);
#   MANA_RS_PARALLEL=0 boots them one after another.

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs (a long test boot) cannot change what the running copy does.
{

"$MANA_RS_REPO/scripts/kernel.sh"
export MANA_RS_KERNEL_BUILT=1
logs=()
# Suites that must report because their stage ran.
require=()
checks=$MANA_RS_CACHE/build/build-checks.ktap
"$MANA_RS_REPO/scripts/build-checks.sh" --ktap > "$checks" || true
logs+=("$checks")
# The host-side crates (tools/): their own cargo tests.
if [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	info "cargo test of the crates under tools/"
	tools=$MANA_RS_CACHE/build/cargo-tests.ktap
	"$MANA_RS_REPO/scripts/cargo-tests.sh" > "$tools" || true
	logs+=("$tools")
	require+=(--require mana_rs_tools_mana_vfio_user)
fi

# The stages that boot guests. Each writes the path of its KTAP output to $stages/<name>.
stages=$MANA_RS_CACHE/build/stages
rm -rf "$stages"
mkdir -p "$stages"
want_e2e=0 want_selftests=0 want_pci=0 want_dpdk=0
if [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	[ "${MANA_RS_E2E:-1}" = 0 ] || want_e2e=1
	[ "${MANA_RS_SELFTESTS:-1}" = 0 ] || want_selftests=1
	[ "${MANA_RS_PCI:-1}" = 0 ] || want_pci=1
	[ "${MANA_RS_DPDK:-1}" = 0 ] || want_dpdk=1
fi

# Runs stage $1 (the command after it prints its KTAP file's path); a stage that fails to
# complete still leaves its console, which ktap.py then judges.
stage() {
	local name=$1
	shift
	"$@" > "$stages/$name" || warn "the $name stage did not complete (see above)"
}
# The "ok - <what>" / "not ok - <what>" lines of a smoke script's log $1 as the KTAP suite $2
# (a suite with one failed case naming stage $3 if the log has none).
smoke_ktap() {
	awk -v suite="$2" -v what="$3" '
		{ sub(/\r$/, "") }
		/^ok - / { n++; sub(/^ok - /, ""); cases[n] = "ok " n " " $0; next }
		/^not ok - / { n++; bad = 1; sub(/^not ok - /, ""); cases[n] = "not ok " n " " $0; next }
		END {
			if (n == 0) { n = 1; bad = 1; cases[1] = "not ok 1 " what " ran (see " FILENAME ")" }
			print "KTAP version 1"; print "1..1"; print "    KTAP version 1"
			print "    # Subtest: " suite; print "    1.." n
			for (i = 1; i <= n; i++) print "    " cases[i]
			print ((bad || n == 0) ? "not ok" : "ok") " 1 " suite
		}' "$1"
}
# The PCI stage: the emulated MANA VF (tools/mana-vfio-user) in QEMU 11.1 with the vfio-user
# client, the project's kernel; its "ok - <what>" lines become the KTAP suite mana_rs_pci.
pci_stage() {
	info "the PCI stage (scripts/pci-smoke.sh with the test kernel; log: $MANA_RS_CACHE/build/pci-smoke.log)"
	local pci_log=$MANA_RS_CACHE/build/pci-smoke.log pci_ktap=$MANA_RS_CACHE/build/pci-smoke.ktap
	local start=$(date +%s)
	MANA_RS_PCI_KERNEL=project "$MANA_RS_REPO/scripts/pci-smoke.sh" > "$pci_log" 2>&1 || true
	smoke_ktap "$pci_log" mana_rs_pci "the PCI stage" > "$pci_ktap"
	info "the PCI stage took $(( $(date +%s) - start )) s: $(grep -c '^ok - ' "$pci_log" || true) ok, $(grep -c '^not ok - ' "$pci_log" || true) not ok"
	echo "$pci_ktap"
}
# The DPDK stage: DPDK's testpmd and MANA PMD on the emulated MANA VF over mana-rs
# (scripts/dpdk-smoke.sh); its "ok - <what>" lines become the KTAP suite mana_rs_dpdk.
dpdk_stage() {
	info "the DPDK stage (scripts/dpdk-smoke.sh; log: $MANA_RS_CACHE/build/dpdk-smoke.log)"
	local log=$MANA_RS_CACHE/build/dpdk-smoke.log ktap=$MANA_RS_CACHE/build/dpdk-smoke.ktap
	local start=$(date +%s)
	"$MANA_RS_REPO/scripts/dpdk-smoke.sh" > "$log" 2>&1 || true
	smoke_ktap "$log" mana_rs_dpdk "the DPDK stage" > "$ktap"
	info "the DPDK stage took $(( $(date +%s) - start )) s: $(grep -c '^ok - ' "$log" || true) ok, $(grep -c '^not ok - ' "$log" || true) not ok"
	echo "$ktap"
}
# Two lanes of guests side by side: a TCG guest keeps about one of the two cores busy (much of a
# scenario is waiting), so two lanes take little more than the longer one. The shared inputs
# (root filesystem, test programs) are built first, once. MANA_RS_PARALLEL=0: one after another.
e2e=$MANA_RS_REPO/scripts/e2e.sh
# The lanes, balanced by measured guest times (two cores, both lanes busy): the selftests
# (about 9 min) alone beside KUnit, the end-to-end scenario and the PCI stage (2 + 5 + 3 min);
# without the selftests, KUnit and the PCI stage beside the end-to-end scenario.
lane_a() {
	if [ $want_selftests = 1 ]; then
		stage selftests "$e2e" selftests
	else
		stage kunit "$e2e" kunit
		[ $want_pci = 0 ] || stage pci pci_stage
	fi
	[ $want_dpdk = 0 ] || stage dpdk dpdk_stage
}
lane_b() {
	[ $want_selftests = 0 ] || stage kunit "$e2e" kunit
	[ $want_e2e = 0 ] || stage e2e "$e2e" test
	[ $want_selftests = 0 ] || [ $want_pci = 0 ] || stage pci pci_stage
}
guests_start=$(date +%s)
if [ "${MANA_RS_PARALLEL:-1}" != 0 ] && [ $((want_e2e + want_selftests + want_pci + want_dpdk)) -gt 0 ]; then
	"$e2e" prepare
	info "booting the guests in two lanes side by side (MANA_RS_PARALLEL=0: one after another)"
	lane_a &
	lane_a_pid=$!
	lane_b &
	lane_b_pid=$!
	wait "$lane_a_pid" || true
	wait "$lane_b_pid" || true
elif [ $want_selftests = 1 ]; then
	lane_b
	lane_a
else
	lane_a
	lane_b
fi
info "the guest stages took $(( $(date +%s) - guests_start )) s"

# The console of a stage: the path it printed, or where it writes it.
console_of() {
	local p
	p=$(cat "$stages/$1" 2> /dev/null || true)
	echo "${p:-$2}"
}
console=$(console_of kunit "$MANA_RS_CACHE/build/e2e/kunit-console.log")
logs=("$console" "${logs[@]}")
expect=()
if [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	expect=(--expect "$MANA_RS_REPO/tests/kunit/expected-suites")
	[ "${MANA_RS_KUNIT_FULL:-0}" = 0 ] || expect+=(--expect "$MANA_RS_REPO/tests/kunit/expected-suites-full")
fi
if [ $want_e2e = 1 ]; then
	logs+=("$(console_of e2e "$MANA_RS_CACHE/build/e2e/console.log")")
	require+=(--require mana_rs_e2e)
fi
if [ $want_selftests = 1 ]; then
	logs+=("$(console_of selftests "$MANA_RS_CACHE/build/e2e/selftests-console.log")")
	require+=(--require mana_rs_selftests)
fi
if [ $want_pci = 1 ]; then
	logs+=("$(console_of pci "$MANA_RS_CACHE/build/pci-smoke.ktap")")
	require+=(--require mana_rs_pci)
fi
if [ $want_dpdk = 1 ]; then
	logs+=("$(console_of dpdk "$MANA_RS_CACHE/build/dpdk-smoke.ktap")")
	require+=(--require mana_rs_dpdk)
fi
python3 "$MANA_RS_REPO/scripts/ktap.py" "${logs[@]}" "${expect[@]}" "${require[@]}" || {
	echo "console log: $console" >&2
	exit 1
}
exit
}
