#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# PCI benchmark (figures, not a test): the same work through the upstream C driver (mana) and
# through mana-rs on the same emulated MANA function (tools/mana-vfio-user in QEMU 11.1, TCG),
# from one boot of the project's test kernel: the time to bring up an interface with as many
# queues as the guest has CPUs (both drivers give an interface at most one queue per CPU; the
# test kernel has NR_CPUS=8, so MANA_RS_BENCH_CPUS defaults to 8 and the figure is for 8
# queues: 16 needs a kernel with NR_CPUS >= 16 and MANA_RS_BENCH_CPUS=16), the ping round trip between the two linked ports (median, 99th percentile), frames per
# second pktgen sends from one port and the other receives at 64 and 1500 bytes, and CPU time
# per frame; then the mana-rs / C ratio of each. The guest is scripts/bench-pci-init.sh.
#
# Everything runs under TCG on a shared machine: compare the two drivers of one boot with each
# other, never with hardware or with another boot.

. "$(dirname "$0")/lib.sh"

{

work=$MANA_RS_CACHE/pci
mkdir -p "$work"
run=$(mktemp -d "$work/bench.XXXXXX")
socket=$run/mana0.sock
cpus=${MANA_RS_BENCH_CPUS:-8}

info "building tools/mana-vfio-user"
CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target nice -n 19 \
	cargo build --quiet --release --locked -j "$MANA_RS_JOBS" \
	--manifest-path "$MANA_RS_REPO/tools/mana-vfio-user/Cargo.toml" ||
	die "building tools/mana-vfio-user failed"
"$MANA_RS_REPO/scripts/qemu-vfio.sh" root > /dev/null

rootfs=$("$MANA_RS_REPO/scripts/rootfs.sh")
build=$MANA_RS_CACHE/build/kernel
ov=$run/overlay
mkdir -p "$ov/usr/lib/modules"
cp "$build/arch/x86/boot/bzImage" "$run/bzImage" ||
	die "no test kernel in $build: run scripts/kernel.sh (or make test) first"
release=$(cat "$build/include/config/kernel.release")
cp -a "$build/modroot/lib/modules/$release" "$ov/usr/lib/modules/"
install -m 755 "$MANA_RS_REPO/scripts/bench-pci-init.sh" "$ov/init"
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$run/overlay.cpio.gz"
cat "$rootfs/base.cpio.gz" "$run/overlay.cpio.gz" > "$run/initrd.gz"

"$MANA_RS_CACHE/cargo-target/release/mana-vfio-user" --socket "$socket" > "$run/server.out" 2> "$run/server.err" &
server_pid=$!
cleanup() {
	kill "$server_pid" 2> /dev/null || true
	mkdir -p "$MANA_RS_CACHE/build/pci"
	cp "$run/console.log" "$MANA_RS_CACHE/build/pci/bench-console.log" 2> /dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
for _ in $(seq 100); do
	[ -S "$socket" ] && break
	sleep 0.1
done
[ -S "$socket" ] || die "mana-vfio-user did not create $socket"

info "booting QEMU (TCG, $cpus vCPUs) with the MANA function; load now: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout "${MANA_RS_BENCH_TIMEOUT:-1200}" "$MANA_RS_REPO/scripts/qemu-vfio.sh" run \
	-machine q35,accel=tcg,memory-backend=mem -cpu max -smp "$cpus" -m 2G \
	-object memory-backend-memfd,id=mem,size=2G,share=on \
	-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$socket\"}}" \
	-kernel "$run/bzImage" -initrd "$run/initrd.gz" \
	-append "console=ttyS0 panic=-1 no_timer_check loglevel=4 kunit.enable=0" \
	-display none -serial "file:$run/console.log" -monitor none -no-reboot -nodefaults \
	> "$run/qemu.log" 2>&1 || warn "QEMU exited with $?"
grep -q '^mana-bench: done' "$run/console.log" || warn "the guest did not finish (see build/pci/bench-console.log)"
info "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

tr -d '\r' < "$run/console.log" | grep '^# guest' || true
# One line per metric: C, mana-rs, mana-rs / C.
tr -d '\r' < "$run/console.log" | awk '
	/^bench: (c|rs) / { v[$2 " " $3] = $4; if (!($3 in seen)) { seen[$3] = 1; order[n++] = $3 } }
	/^bench: / && !/^bench: (c|rs) [a-z0-9_]+ [0-9]+$/ { print "#", $0 }
	END {
		printf "%-24s %12s %12s %14s\n", "metric", "C", "mana-rs", "mana-rs / C"
		for (i = 0; i < n; i++) {
			m = order[i]; c = v["c " m]; r = v["rs " m]
			ratio = (c != "" && r != "" && c > 0) ? sprintf("%.2f", r / c) : "-"
			printf "%-24s %12s %12s %14s\n", m, c == "" ? "-" : c, r == "" ? "-" : r, ratio
		}
		print "(pps: higher is better; ms, us and ns: lower is better)"
	}'
exit
}
