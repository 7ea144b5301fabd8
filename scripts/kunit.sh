#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the KUnit kernel of tests/kunit/.kunitconfig in $MANA_RS_CACHE/build/kunit, boots it in
# QEMU with TCG (on these machines /dev/kvm exists but the guest hangs under it), and reports
# the KTAP results through scripts/ktap.py.
#
# MANA_RS_KUNIT_FILTER=glob runs only the matching suites (e.g. 'mana_rs_shared_vport*').
# MANA_RS_KUNIT_TIMEOUT=seconds bounds the boot (default 900).
# MANA_RS_BUILD_ONLY=1 builds and stops (used by `make demo`).
# Then, unless MANA_RS_E2E=0 or a filter is set, the end-to-end scenario (scripts/e2e.sh test)
# runs and its cases count into the same last line, "N passed, N failed".

. "$(dirname "$0")/lib.sh"

libclang_env
tree=$(kernel_tree)
build=$MANA_RS_CACHE/build/kunit
mkdir -p "$build"
log=$build/mana-rs-build.log

# One build at a time per build directory (several shells may share a cache).
exec 9> "$build/.lock"
if ! flock -n 9; then
	info "waiting for another build in $build to finish"
	flock 9
fi

"$MANA_RS_REPO/scripts/prepare-tree.sh"

info "building the KUnit kernel in $build (log: $log)"
start=$(date +%s)
if ! (cd "$tree" && python3 tools/testing/kunit/kunit.py build --arch=x86_64 \
	--kunitconfig="$MANA_RS_REPO/tests/kunit/.kunitconfig" --build_dir="$build" \
	--jobs="$MANA_RS_JOBS") > "$log" 2>&1; then
	grep -E 'error(\[E[0-9]+\])?:|Error [0-9]|ERROR:|not in .config|missing' -A12 "$log" | head -n 80 >&2 || tail -n 40 "$log" >&2
	die "the KUnit kernel did not build (full log: $log)"
fi
info "kernel built in $(( $(date +%s) - start )) s"
[ -z "${MANA_RS_BUILD_ONLY:-}" ] || exit 0

cmdline="console=ttyS0 kunit.enable=1 kunit_shutdown=reboot panic=-1 mana_gdma.sw_adapters=1"
expect=(--expect "$MANA_RS_REPO/tests/kunit/expected-suites")
if [ -n "${MANA_RS_KUNIT_FILTER:-}" ]; then
	cmdline="$cmdline kunit.filter_glob=$MANA_RS_KUNIT_FILTER"
	expect=()
fi
console=$build/mana-rs-console.log
timeout_s=${MANA_RS_KUNIT_TIMEOUT:-900}
bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios qboot.rom)

info "booting it in QEMU (TCG)"
start=$(date +%s)
set +e
timeout --foreground "$timeout_s" qemu-system-x86_64 -nodefaults -nographic -no-reboot \
	-accel tcg -cpu max -smp 2 -m 2048 "${bios[@]}" \
	-kernel "$build/arch/x86/boot/bzImage" -append "$cmdline" \
	-serial file:"$console" -monitor none < /dev/null
rc=$?
set -e
info "QEMU ran $(( $(date +%s) - start )) s"
[ $rc -eq 124 ] && echo "error: QEMU timed out after $timeout_s s (MANA_RS_KUNIT_TIMEOUT)" >&2
logs=("$console")
if [ "${MANA_RS_E2E:-1}" != 0 ] && [ -z "${MANA_RS_KUNIT_FILTER:-}" ]; then
	e2e_console=$MANA_RS_CACHE/build/e2e/console.log
	rm -f "$e2e_console"
	# Release the KUnit build lock: the end-to-end kernel is another build directory.
	exec 9>&-
	"$MANA_RS_REPO/scripts/e2e.sh" test > /dev/null || warn "the end-to-end run did not complete (see above)"
	logs+=("$e2e_console")
fi
python3 "$MANA_RS_REPO/scripts/ktap.py" "${logs[@]}" "${expect[@]}" || {
	echo "console log: $console" >&2
	# Keep the summary line last on stdout.
	exit 1
}
[ $rc -eq 0 ] || [ $rc -eq 124 ] || true
[ $rc -ne 124 ] || exit 1
