#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build-time benchmark (figures, not a test): a cold `make test` (empty build directory, kernel
# source already unpacked), a warm one with nothing changed, and an incremental one after
# touching one driver file. Uses a cache of its own, so the normal build stays as it is.
# Targets on 2 cores: cold <= 25 min, warm <= 90 s, incremental <= 3 min.

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
	MANA_RS_CACHE=$bench "$MANA_RS_REPO/scripts/kunit.sh" > "$bench/$1.log" 2>&1 ||
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
printf 'jobs: %s, cpus: %s\n' "$MANA_RS_JOBS" "$(nproc)"
rm -rf "$bench"
