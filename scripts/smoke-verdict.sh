# SPDX-License-Identifier: GPL-2.0-only
#
# The verdict shared by the stages that boot a guest on the emulated MANA PCI function
# (scripts/pci-smoke.sh, scripts/dpdk-smoke.sh), sourced after the guest and the server ended.
# Prints "ok - WHAT" / "not ok - WHAT" lines (counted in $passed and $failed), which
# scripts/kunit.sh turns into a KTAP suite: QEMU's exit, the guest's end marker, the guest's own
# "ok N - ..." lines, and the server's report with the counters that must be zero. `result`,
# `field` and `expect` stay defined for the stage's own checks after it.
#
# Reads: $qemu_rc, $run (qemu.log, server.out, server.err), $console, $server_rc, and
# $smoke_marker (the line the guest prints when it ran its checks to the end).

passed=0
failed=0
result() {
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
		echo "ok - $2"
	else
		failed=$((failed + 1))
		echo "not ok - $2"
	fi
}

[ "$qemu_rc" -eq 0 ] && result ok "QEMU ran and exited" ||
	{ result fail "QEMU exited with $qemu_rc"; sed 's/^/# qemu: /' "$run/qemu.log"; }
grep -q "^$smoke_marker" "$console" && result ok "the guest ran its checks to the end" ||
	{ result fail "the guest did not finish its checks"; tail -n 60 "$console" | sed 's/^/# console: /'; }
grep '^# ' "$console" | tr -d '\r' || true
while IFS= read -r line; do
	case $line in
	"ok "*) result ok "guest: ${line#ok * - }" ;;
	"not ok "*) result fail "guest: ${line#not ok * - }" ;;
	esac
done < <(tr -d '\r' < "$console" | grep -E '^(not )?ok [0-9]+ - ')

report=$(grep '^mana-vfio-user report:' "$run/server.out" || true)
if [ -n "$report" ]; then
	result ok "the server printed its report"
	echo "# $report"
	grep -v '^mana-vfio-user report:' "$run/server.out" | sed 's/^/# /' || true
else
	result fail "the server printed no report (exit $server_rc)"
	sed 's/^/# server: /' "$run/server.err"
fi
field() {
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< " ${report#*:}"
}
expect() {
	local got
	got=$(field "$1")
	[ "$got" = "$2" ] && result ok "server: $1=$2" || result fail "server: $1=${got:-missing}, expected $2"
}
expect protocol_errors 0
expect server_errors 0
expect dma_faults 0
expect device_protocol_errors 0
expect live_objects 0
expect bad_vectors 0
