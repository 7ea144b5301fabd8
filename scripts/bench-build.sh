#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build-time benchmark (figures, not a test): a cold `make test` (empty build directory, root
# filesystems and QEMU download (packages fetched again), in a cache of its own; the kernel source hard-linked from the
# normal cache, the toolchain already installed), a warm one with nothing changed, and an
# incremental one after touching one driver file, each with the time of its stages.
# Targets on 2 cores (issue 14): with every stage, cold <= 60 min and warm <= 10 min; KUnit and
# the end-to-end scenario alone (MANA_RS_SELFTESTS=0 MANA_RS_PCI=0 make bench-build) cold
# <= 25 min, warm <= 3 min, incremental <= 6 min. Add about 5 min of `make setup` on a new
# machine (Debian packages, rust-src, bindgen-cli).

. "$(dirname "$0")/lib.sh"

{
"$MANA_RS_REPO/scripts/setup.sh"
src_cache=$MANA_RS_CACHE
bench=$MANA_RS_CACHE/bench
version=$(kernel_version)

rm -rf "$bench"
mkdir -p "$bench/src"
echo "$version" > "$bench/kernel-version"
# Hard links: no copy of the 1.5 GB tree; prepare-tree replaces edited files, never writes
# through a link.
cp -al "$src_cache/src/linux-$version" "$bench/src/"
[ -d "$src_cache/pristine" ] && cp -a "$src_cache/pristine" "$bench/"
# Seconds of a line "mana-rs: <prefix> N s" of log $1 (the first such line), or "-".
secs() {
	sed -n "s/^mana-rs: $2 \\([0-9]*\\) s.*/\\1/p" "$1" | head -n 1 | grep . || echo -
}
# Runs `make test` in the bench cache; prints its seconds, its summary and its stages.
run() {
	local start end log=$bench/$1.log
	start=$(date +%s)
	MANA_RS_CACHE=$bench "$MANA_RS_REPO/scripts/kunit.sh" > "$log" 2>&1 ||
		{ tail -n 20 "$log"; die "$1 run failed (log: $log)"; }
	end=$(date +%s)
	printf '%-12s make test: %5d s  (%s)\n' "$1" $((end - start)) "$(tail -n 1 "$log")"
	printf '             kernel build %s s; guests %s s: KUnit %s s, end-to-end %s s, selftests %s s, PCI stage %s s\n' \
		"$(secs "$log" 'kernel built in')" "$(secs "$log" 'the guest stages took')" \
		"$(secs "$log" 'the KUnit suites guest ran')" "$(secs "$log" 'the end-to-end scenario guest ran')" \
		"$(secs "$log" "the kernel's driver selftests guest ran")" "$(secs "$log" 'the PCI stage took')"
}

run cold
run warm
touch "$MANA_RS_REPO/mana_eth/port.rs"
run incremental
echo "targets, every stage: cold <= 3600 s, warm <= 600 s; KUnit and end-to-end only: cold <= 1500 s, warm <= 180 s, incremental <= 360 s (touched mana_eth/port.rs)"
printf 'stages: selftests %s, PCI %s, lanes %s; jobs: %s, cpus: %s, load average at the end: %s\n' \
	"${MANA_RS_SELFTESTS:-1}" "${MANA_RS_PCI:-1}" "${MANA_RS_PARALLEL:-1}" "$MANA_RS_JOBS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$bench"
exit
}
