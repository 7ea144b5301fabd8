#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The KUnit stage, inside the guest that scripts/e2e.sh boots in mode `kunit`: the one test
# kernel (tests/kernel.config) boots with kunit.autorun=0, so every suite, built in or in a
# module, is registered but not run. This loads the drivers as `modprobe` does on an Azure VM
# (their suites register as each module loads), then runs the chosen suites one by one through
# /sys/kernel/debug/kunit/<suite>/run, with every driver loaded, as KTAP on the console for
# scripts/ktap.py.
#
# Kernel command line: mana_kunit_filter=GLOB runs only the suites matching GLOB; without it,
# every suite runs except the benchmarks (*_bench, run by scripts/bench-*.sh) and the long
# versions of loops (*_slow), unless mana_kunit_full=1 (`make test-full`).

KUNIT=/sys/kernel/debug/kunit
filter=
full=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	mana_kunit_filter=*) filter=${arg#mana_kunit_filter=} ;;
	mana_kunit_full=1) full=1 ;;
	esac
done

# Through the kernel log, so that these lines and the suites' own stay in order on the console.
log() {
	echo "$*" > /dev/kmsg
}

modprobe mana_gdma sw_adapters=1 || log "mana-rs-kunit: error: modprobe mana_gdma failed"
modprobe mana_eth || log "mana-rs-kunit: error: modprobe mana_eth failed"
modprobe mana_rdma || log "mana-rs-kunit: error: modprobe mana_rdma failed"

chosen() {
	if [ -n "$filter" ]; then
		# shellcheck disable=SC2254
		case "$1" in $filter) return 0 ;; *) return 1 ;; esac
	fi
	case "$1" in
	*_bench) return 1 ;;
	*_slow) [ "$full" = 1 ] ;;
	*) return 0 ;;
	esac
}

suites=
for dir in "$KUNIT"/*/; do
	name=$(basename "$dir")
	chosen "$name" && suites="$suites $name"
done
set -- $suites
log "KTAP version 1"
log "1..$#"
for name in "$@"; do
	echo 1 > "$KUNIT/$name/run"
done
log "mana-rs-kunit: done"
