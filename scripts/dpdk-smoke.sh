#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The DPDK stage (issue 17): DPDK 24.11's dpdk-testpmd with its MANA PMD on the emulated MANA VF,
# over mana-rs. Starts tools/mana-vfio-user (the device model behind the VF, two linked ports),
# boots QEMU 11.1 (scripts/qemu-vfio.sh, TCG, `-cpu max` for DPDK's SSE4.2) with the project's
# test kernel and the DPDK root filesystem (tests/dpdk/rootfs.list), whose /init
# (scripts/dpdk-smoke-init.sh) runs the seed scenario with testpmd in one boot. Then checks the
# server's exit report: no protocol error (of the function or of the device model), no server
# error, no DMA fault, no device object left. Last line: "N passed, N failed".
#
# Knobs: MANA_RS_DPDK_TIMEOUT (seconds for the boot, default 900), MANA_RS_DPDK_FRAMES (frames
# each way, default 64), MANA_RS_DPDK_DRIVER=c (the upstream C drivers mana and mana_ib of the
# test kernel instead of mana-rs, for comparison). The guest's console, the server's output and this log stay in
# $MANA_RS_CACHE/build/dpdk/.

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs cannot change what the running copy does.
{

work=$MANA_RS_CACHE/pci
mkdir -p "$work"
run=$(mktemp -d "$work/dpdk.XXXXXX")
socket=$run/mana0.sock
timeout_s=${MANA_RS_DPDK_TIMEOUT:-900}
frames=${MANA_RS_DPDK_FRAMES:-64}
driver=${MANA_RS_DPDK_DRIVER:-rs}
start=$(date +%s)

info "building tools/mana-vfio-user"
CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target nice -n 19 \
	cargo build --quiet --release --locked -j "$MANA_RS_JOBS" \
	--manifest-path "$MANA_RS_REPO/tools/mana-vfio-user/Cargo.toml" ||
	die "building tools/mana-vfio-user failed"
server_bin=$MANA_RS_CACHE/cargo-target/release/mana-vfio-user

"$MANA_RS_REPO/scripts/qemu-vfio.sh" root > /dev/null
rootfs=$("$MANA_RS_REPO/scripts/rootfs.sh" "$MANA_RS_REPO/tests/dpdk/rootfs.list")

# The test kernel and its modules (copies: the build may replace them while the guest boots).
build=$MANA_RS_CACHE/build/kernel
cp "$build/arch/x86/boot/bzImage" "$run/bzImage" ||
	die "no test kernel in $build: run scripts/kernel.sh (or make test) first"
release=$(cat "$build/include/config/kernel.release")
ov=$run/overlay
mkdir -p "$ov/usr/lib/modules" "$ov/etc/modprobe.d"
cp -a "$build/modroot/lib/modules/$release" "$ov/usr/lib/modules/"
[ "$driver" = c ] || [ -n "$(find "$ov/usr/lib/modules" -name mana_gdma.ko)" ] ||
	die "the test kernel has no mana_gdma.ko"
[ "$driver" = rs ] || [ -n "$(find "$ov/usr/lib/modules" -name mana_ib.ko)" ] ||
	die "the test kernel has no mana_ib.ko"
# Both drivers match 1414:00ba: modalias loading must bring up mana-rs.
printf 'blacklist mana\nblacklist mana_ib\n' > "$ov/etc/modprobe.d/mana-c-driver.conf"
install -m 755 "$MANA_RS_REPO/scripts/dpdk-smoke-init.sh" "$ov/init"
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$run/overlay.cpio.gz"
cat "$rootfs/base.cpio.gz" "$run/overlay.cpio.gz" > "$run/initrd.gz"

"$server_bin" --socket "$socket" > "$run/server.out" 2> "$run/server.err" &
server_pid=$!
keep=$MANA_RS_CACHE/build/dpdk
cleanup() {
	kill "$server_pid" 2> /dev/null || true
	mkdir -p "$keep"
	cp "$run/console.log" "$run/server.out" "$run/server.err" "$run/qemu.log" "$keep/" 2> /dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
for _ in $(seq 100); do
	[ -S "$socket" ] && break
	sleep 0.1
done
[ -S "$socket" ] || { cat "$run/server.err" >&2; die "mana-vfio-user did not create $socket"; }

info "booting QEMU (TCG) with the MANA function on $socket"
console=$run/console.log
boot=$(date +%s)
qemu_rc=0
# no_timer_check: see pci-smoke.sh. 2 GiB: the DPDK root filesystem is an initramfs of 300 MB.
timeout "$timeout_s" "$MANA_RS_REPO/scripts/qemu-vfio.sh" run \
	-machine q35,accel=tcg,memory-backend=mem -cpu max -smp 2 -m 2G \
	-object memory-backend-memfd,id=mem,size=2G,share=on \
	-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$socket\"}}" \
	-kernel "$run/bzImage" -initrd "$run/initrd.gz" \
	-append "console=ttyS0 panic=-1 no_timer_check loglevel=4 log_buf_len=16M kunit.enable=0 mana_dpdk_frames=$frames mana_dpdk_driver=$driver" \
	-display none -serial "file:$console" -monitor none -no-reboot -nodefaults \
	> "$run/qemu.log" 2>&1 || qemu_rc=$?
echo "# the guest ran $(($(date +%s) - boot)) s"
for _ in $(seq 100); do
	kill -0 "$server_pid" 2> /dev/null || break
	sleep 0.1
done
server_rc=0
wait "$server_pid" || server_rc=$?

smoke_marker='mana-dpdk-smoke: done'
. "$MANA_RS_REPO/scripts/smoke-verdict.sh"
[ "$server_rc" -eq 0 ] && result ok "the server exited cleanly" || result fail "the server exited with $server_rc"
if [ "$failed" -gt 0 ]; then
	sed 's/^/# server: /' "$run/server.err" | tail -n 40
fi
echo "# the DPDK stage took $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
exit
}
