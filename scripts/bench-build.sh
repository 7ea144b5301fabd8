#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build-time benchmark (figures, not a test): a cold `make test` (empty build directory and root
# filesystem, in a cache of its own; the kernel source hard-linked from the normal cache, the
# toolchain already installed), a warm one with nothing changed, and an incremental one after
# touching one driver file, each with the time of its stages. Targets on 2 cores: cold <= 25 min
# (plus about 5 min of `make setup` on a new machine), warm <= 3 min, incremental <= 6 min.

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

# Runs `make test` in the bench cache; prints its seconds, its summary and its stages.
run() {
	local start end log=$bench/$1.log
	start=$(date +%s)
	MANA_RS_CACHE=$bench "$MANA_RS_REPO/scripts/kunit.sh" > "$log" 2>&1 ||
		{ tail -n 20 "$log"; die "$1 run failed (log: $log)"; }
	end=$(date +%s)
	printf '%-12s make test: %5d s  (%s; kernel build %s s, KUnit guest %s s, end-to-end guest %s s)\n' \
		"$1" $((end - start)) "$(tail -n 1 "$log")" \
		"$(sed -n 's/^mana-rs: kernel built in \([0-9]*\) s$/\1/p' "$log" | head -n 1)" \
		"$(sed -n 's/^mana-rs: the guest ran \([0-9]*\) s$/\1/p' "$log" | sed -n 1p)" \
		"$(sed -n 's/^mana-rs: the guest ran \([0-9]*\) s$/\1/p' "$log" | sed -n 2p)"
}

run cold
run warm
touch "$MANA_RS_REPO/mana_eth/port.rs"
run incremental
echo "targets: cold <= 1500 s, warm <= 180 s, incremental <= 360 s (touched mana_eth/port.rs)"
printf 'jobs: %s, cpus: %s, load average at the end: %s\n' "$MANA_RS_JOBS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$bench"
exit
}
