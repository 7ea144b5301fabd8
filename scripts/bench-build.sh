#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build-time benchmark (figures, not a test): a cold `make test` (empty build directory, kernel
# source already unpacked), a warm one with nothing changed, and an incremental one after
# touching one driver file. Uses a cache of its own, so the normal build stays as it is.
# Targets on 2 cores: cold <= 25 min, warm <= 90 s, incremental <= 3 min (the KUnit part).
# Then the end-to-end part on its own: the module kernel and the Debian root filesystem cold
# (packages downloaded again), and a warm end-to-end run.

. "$(dirname "$0")/lib.sh"

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

run() {
	local start end
	start=$(date +%s)
	MANA_RS_E2E=0 MANA_RS_CACHE=$bench "$MANA_RS_REPO/scripts/kunit.sh" > "$bench/$1.log" 2>&1 ||
		{ tail -n 20 "$bench/$1.log"; die "$1 run failed (log: $bench/$1.log)"; }
	end=$(date +%s)
	echo $((end - start))
}

cold=$(run cold)
warm=$(run warm)
touch "$MANA_RS_REPO/mana_eth/mana_eth.rs"
incremental=$(run incremental)

printf 'cold make test:        %4d s  (target <= 1500 s)\n' "$cold"
printf 'warm make test:        %4d s  (target <= 90 s)\n' "$warm"
printf 'incremental make test: %4d s  (target <= 180 s; touched mana_eth/mana_eth.rs)\n' "$incremental"

timed() {
	local start
	start=$(date +%s)
	MANA_RS_CACHE=$bench "$@" > "$bench/e2e.log" 2>&1 ||
		{ tail -n 20 "$bench/e2e.log"; die "$* failed (log: $bench/e2e.log)"; }
	echo $(($(date +%s) - start))
}
modules_cold=$(timed "$MANA_RS_REPO/scripts/modules.sh")
rootfs_cold=$(timed "$MANA_RS_REPO/scripts/rootfs.sh")
e2e_first=$(timed "$MANA_RS_REPO/scripts/e2e.sh" test)
e2e_warm=$(timed "$MANA_RS_REPO/scripts/e2e.sh" test)
printf 'cold module kernel:    %4d s\n' "$modules_cold"
printf 'cold root filesystem:  %4d s  (Debian packages downloaded)\n' "$rootfs_cold"
printf 'first end-to-end run:  %4d s  (raw_qp compiled, guest booted)\n' "$e2e_first"
printf 'warm end-to-end run:   %4d s\n' "$e2e_warm"
printf 'jobs: %s, cpus: %s\n' "$MANA_RS_JOBS" "$(nproc)"
rm -rf "$bench"
