#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make test`: builds the one test kernel (scripts/kernel.sh: the drivers as modules, KUnit,
# SMP), checks the built objects (scripts/build-checks.sh: stack frames, objtool), boots the
# kernel in QEMU (TCG) to run the KUnit suites (scripts/e2e.sh kunit, tests/kunit/run.sh), then
# boots it again for the end-to-end scenario (scripts/e2e.sh test), and reports everything through
# scripts/ktap.py, whose last line is "N passed, N failed".
#
# MANA_RS_KUNIT_FILTER=glob runs only the matching KUnit suites (e.g. 'mana_rs_shared_vport*')
#   and skips the end-to-end scenario.
# MANA_RS_KUNIT_FULL=1 also runs the long versions of the loops (`make test-full`).
# MANA_RS_KUNIT_TIMEOUT=seconds bounds the KUnit boot (default 900).
# MANA_RS_E2E=0 skips the end-to-end scenario.
# MANA_RS_SELFTESTS=0 skips the kernel's driver selftests (scripts/e2e.sh selftests, judged
#   against tests/selftests/expected), which run after the end-to-end scenario, on the same
#   kernel; a filtered run (MANA_RS_KUNIT_FILTER) skips them too.

. "$(dirname "$0")/lib.sh"

"$MANA_RS_REPO/scripts/kernel.sh"
logs=()
checks=$MANA_RS_CACHE/build/build-checks.ktap
"$MANA_RS_REPO/scripts/build-checks.sh" --ktap > "$checks" || true
logs+=("$checks")

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
python3 "$MANA_RS_REPO/scripts/ktap.py" "${logs[@]}" "${expect[@]}" || {
	echo "console log: $console" >&2
	exit 1
}
