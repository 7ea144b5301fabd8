#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The PCI stage: starts tools/mana-vfio-user (the MANA device model behind an emulated MANA
# VF), boots QEMU 11.1 (scripts/qemu-vfio.sh, TCG) with it as a vfio-user-pci device and the
# Debian root filesystem of scripts/rootfs.sh, whose /init (scripts/pci-smoke-init.sh) checks
# from the guest what a MANA VF presents (ids, class, BARs, the capability chain, MSI-X
# vectors, BAR0 registers), then, each after a function level reset, runs the drivers on the
# model: the upstream C driver `mana` (the oracle) and mana-rs (mana_gdma by the function's
# PCI modalias, then mana_eth and mana_rdma), each probing, pinging across the two linked
# ports from two namespaces and unloading (MANA_RS_PCI_DRIVERS="c", "rs" or 0 picks). Then checks the
# server's exit report: no protocol error (of the function or of the device model), no server
# error, no DMA fault, no device object left. Last line: "N passed, N failed".
#
# With mana-rs, the guest also has the server's device raise service events (a reset, RDMA
# suspend and resume) through the server's control socket, which QEMU connects to the guest's
# ttyS1; changes the MTU of an up interface under a RAW QP loop; switches the function from
# mana-rs to the C driver and back (driver_override, unbind, bind); and drives the two functions
# of a second server, whose ports are linked across the functions (one ping across them; both
# reports are checked like the first server's).
#
# The guest kernel: MANA_RS_PCI_KERNEL=project (the default, what make test uses) for the
# project's test kernel (a copy of $MANA_RS_CACHE/build/kernel's bzImage) with its module tree
# (mana-rs and the C drivers; the C ones are blacklisted for modalias loading, as the driver
# stage loads them on purpose); or MANA_RS_PCI_KERNEL=debian for Debian trixie's
# linux-image-amd64 (its newest, fetched with the private apt into $MANA_RS_CACHE/pci) with its
# C mana.ko only; or MANA_RS_PCI_KERNEL=<path>
# (MANA_RS_PCI_C_MODULE=<mana.ko> names a C driver built for it). Any x86-64 kernel with PCI,
# MSI-X, devtmpfs, /dev/mem and a serial console will do for the presentation checks.

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs cannot change what the running copy does.
{

work=$MANA_RS_CACHE/pci
mkdir -p "$work"
run=$(mktemp -d "$work/run.XXXXXX")
socket=$run/mana0.sock
timeout_s=${MANA_RS_PCI_TIMEOUT:-600}

# The server, built outside the repository.
info "building tools/mana-vfio-user"
CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target nice -n 19 \
	cargo build --quiet --release --locked -j "$MANA_RS_JOBS" \
	--manifest-path "$MANA_RS_REPO/tools/mana-vfio-user/Cargo.toml" ||
	die "building tools/mana-vfio-user failed"
server_bin=$MANA_RS_CACHE/cargo-target/release/mana-vfio-user

"$MANA_RS_REPO/scripts/qemu-vfio.sh" root > /dev/null

# The server's control socket: QEMU connects the guest's second serial port (ttyS1) to it, and
# the guest has the device raise service events through it (mana_pci_control).
control=$run/control.sock

# --- The second server (two functions linked across them) and the service events ---

# With mana-rs in the guest, a second server serves two functions whose ports are linked to each
# other's (--socket twice): the guest binds both to mana-rs and pings across them.
server2_pid=
second_server_devices=()
second_server_start() {
	[ "$rs_load" != 0 ] || return 0
	local s
	"$server_bin" --socket "$run/mana1.sock" --socket "$run/mana2.sock" \
		> "$run/server2.out" 2> "$run/server2.err" &
	server2_pid=$!
	for s in "$run/mana1.sock" "$run/mana2.sock"; do
		second_server_devices+=(-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$s\"}}")
	done
}
second_server_wait() {
	local _
	for _ in $(seq 100); do
		[ -S "$control" ] && { [ -z "$server2_pid" ] || [ -S "$run/mana2.sock" ]; } && return 0
		sleep 0.1
	done
	cat "$run/server.err" "$run/server2.err" >&2 2> /dev/null
	die "mana-vfio-user did not create its control socket or the second server's sockets"
}
server2_rc=0
# Keeps the second server's output with the first's (cleanup).
second_server_keep() {
	[ -n "$server2_pid" ] || return 0
	kill "$server2_pid" 2> /dev/null || true
	mkdir -p "$keep"
	cp "$run/server2.out" "$run/server2.err" "$keep/" 2> /dev/null || true
}
second_server_stop() {
	[ -n "$server2_pid" ] || return 0
	local _
	for _ in $(seq 100); do
		kill -0 "$server2_pid" 2> /dev/null || break
		sleep 0.1
	done
	wait "$server2_pid" || server2_rc=$?
}

# The first server's device raised what the guest asked for through the control socket.
service_event_checks() {
	[ "$rs_load" != 0 ] || return 0
	expect service_reset 1
	expect service_rdma_suspend 1
	expect service_rdma_resume 1
}

# Both functions of the second server end as clean as the first.
second_server_checks() {
	[ -n "$server2_pid" ] || return 0
	local f e report rx
	for f in 0 1; do
		report=$(grep "^mana-vfio-user report: function=$f " "$run/server2.out" || true)
		if [ -z "$report" ]; then
			result fail "the second server printed no report for function $f (exit $server2_rc)"
			sed 's/^/# server2: /' "$run/server2.err"
			continue
		fi
		echo "# $report"
		for e in protocol_errors=0 server_errors=0 dma_faults=0 device_protocol_errors=0 \
			live_objects=0 bad_vectors=0 refused_frames=0; do
			case " ${report#*:} " in
			*" $e "*) result ok "server 2, function $f: $e" ;;
			*) result fail "server 2, function $f: expected $e" ;;
			esac
		done
		rx=$(sed -n 's/.* rx_packets=\([0-9]*\).*/\1/p' <<< " $report")
		[ "${rx:-0}" -ge 3 ] && result ok "server 2, function $f: frames of the other function arrived (rx_packets=$rx)" ||
			result fail "server 2, function $f: rx_packets=${rx:-missing}, expected at least 3"
	done
	[ "$server2_rc" -eq 0 ] && result ok "the second server exited cleanly" ||
		result fail "the second server exited with $server2_rc"
}

# Debian trixie's generic kernel: the image package linux-image-amd64 points at.
debian_kernel() {
	local dir=$work/kernel pkg version deb
	if ! compgen -G "$dir/boot/vmlinuz-*" > /dev/null; then
		private_apt "$work/apt" "$(lock_value mirror qemu.lock) $(lock_value base_suite qemu.lock) main"
		private_apt_update
		pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
		[ -n "$pkg" ] || die "cannot find the image package of linux-image-amd64"
		version=$(apt-cache "${apt_opts[@]}" policy "$pkg" | awk '/Candidate:/ { print $2 }')
		echo "$pkg $version" > "$work/apt/kernel.list"
		private_apt_download "$work/apt/kernel.list"
		deb=$(private_apt_deb "$pkg" "$version")
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir.tmp" --wildcards './boot/vmlinuz-*' \
			'./usr/lib/modules/*/kernel/drivers/net/ethernet/microsoft/mana/mana.ko.xz' ||
			die "unpacking $pkg failed"
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	compgen -G "$dir/boot/vmlinuz-*" | head -n 1
}

# The guest kernel, its modules and how the guest loads each driver (mana_pci_c=insmod: the
# C driver is /mana.ko; modprobe: it is in the module tree; mana_pci_rs=1: so is mana-rs).
rootfs=$("$MANA_RS_REPO/scripts/rootfs.sh")
ov=$run/overlay
mkdir -p "$ov/usr/lib/modules" "$ov/etc/modprobe.d"
c_module=${MANA_RS_PCI_C_MODULE:-}
c_load=0
rs_load=0
case ${MANA_RS_PCI_KERNEL:-project} in
debian)
	kernel=$(debian_kernel)
	[ -n "$c_module" ] || c_module=$(compgen -G "$work/kernel/usr/lib/modules/*/kernel/drivers/net/ethernet/microsoft/mana/mana.ko.xz" | head -n 1)
	;;
project)
	# Copies: the build may replace them while the guest boots.
	build=$MANA_RS_CACHE/build/kernel
	cp "$build/arch/x86/boot/bzImage" "$run/bzImage" ||
		die "no test kernel in $build: run scripts/kernel.sh (or make test) first"
	kernel=$run/bzImage
	release=$(cat "$build/include/config/kernel.release")
	cp -a "$build/modroot/lib/modules/$release" "$ov/usr/lib/modules/"
	[ -z "$(find "$ov/usr/lib/modules" -name mana.ko)" ] || c_load=modprobe
	[ -z "$(find "$ov/usr/lib/modules" -name mana_gdma.ko)" ] || rs_load=1
	;;
*)
	kernel=$MANA_RS_PCI_KERNEL
	;;
esac
case $c_module in
*.xz) xz -dc "$c_module" > "$ov/mana.ko" && c_load=insmod ;;
?*) cp "$c_module" "$ov/mana.ko" && c_load=insmod ;;
esac
# MANA_RS_PCI_DRIVERS: which drivers run (c, rs or both: "c rs", the default; 0: none).
drivers_wanted=${MANA_RS_PCI_DRIVERS:-c rs}
case " $drivers_wanted " in *" c "*) ;; *) c_load=0 ;; esac
case " $drivers_wanted " in *" rs "*) ;; *) rs_load=0 ;; esac
[ -r "$kernel" ] || die "guest kernel $kernel not readable"
info "guest kernel: $kernel; C driver: $c_load; mana-rs: $rs_load"

# The initramfs: the root filesystem, then the modules, the blacklist and the checks as /init.
# Both drivers match 1414:00ba: modalias loading must bring up mana-rs; the stage loads the C
# driver by name.
printf 'blacklist mana\nblacklist mana_ib\n' > "$ov/etc/modprobe.d/mana-c-driver.conf"
install -m 755 "$MANA_RS_REPO/scripts/pci-smoke-init.sh" "$ov/init"
# raw_qp (tests/e2e/raw_qp.c, built by scripts/e2e.sh, which make test runs first): the RAW QPs
# of the EBUSY checks.
if [ -x "$MANA_RS_CACHE/build/e2e/raw_qp" ]; then
	mkdir -p "$ov/usr/local/bin"
	install -m 755 "$MANA_RS_CACHE/build/e2e/raw_qp" "$ov/usr/local/bin/raw_qp"
fi
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$run/overlay.cpio.gz"
cat "$rootfs/base.cpio.gz" "$run/overlay.cpio.gz" > "$run/initrd.gz"

"$server_bin" --socket "$socket" --record "$run/hwc.record" --control "$control" > "$run/server.out" 2> "$run/server.err" &
server_pid=$!
# The guest's console and the server's output stay for a look afterwards.
keep=$MANA_RS_CACHE/build/pci
cleanup() {
	second_server_keep
	kill "$server_pid" 2> /dev/null || true
	mkdir -p "$keep"
	cp "$run/console.log" "$run/server.out" "$run/server.err" "$run/hwc.record" "$keep/" 2> /dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
second_server_start
for _ in $(seq 100); do
	[ -S "$socket" ] && break
	sleep 0.1
done
[ -S "$socket" ] || { cat "$run/server.err" >&2; die "mana-vfio-user did not create $socket"; }
second_server_wait

info "booting QEMU (TCG) with the MANA function on $socket"
console=$run/console.log
qemu_rc=0
# no_timer_check: under TCG on a loaded machine the kernel's early check that the 8254 timer
# reaches the IO-APIC can fail and panic the boot ("IO-APIC + timer doesn't work").
timeout "$timeout_s" "$MANA_RS_REPO/scripts/qemu-vfio.sh" run \
	-machine q35,accel=tcg,memory-backend=mem -cpu max -smp 2 -m 1G \
	-object memory-backend-memfd,id=mem,size=1G,share=on \
	-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$socket\"}}" \
	"${second_server_devices[@]}" \
	-kernel "$kernel" -initrd "$run/initrd.gz" \
	-append "console=ttyS0 panic=-1 no_timer_check loglevel=4 kunit.enable=0 mana_pci_c=$c_load mana_pci_rs=$rs_load mana_pci_control=ttyS1" \
	-display none -serial "file:$console" -chardev "socket,id=mana-control,path=$control" \
	-serial chardev:mana-control -monitor none -no-reboot -nodefaults \
	> "$run/qemu.log" 2>&1 || qemu_rc=$?
# QEMU's exit closes the connection; the server prints its report and exits.
for _ in $(seq 100); do
	kill -0 "$server_pid" 2> /dev/null || break
	sleep 0.1
done
server_rc=0
wait "$server_pid" || server_rc=$?
second_server_stop

smoke_marker='mana-pci-smoke: done'
. "$MANA_RS_REPO/scripts/smoke-verdict.sh"
# An FLR before each driver.
drivers=$(( $([ "$c_load" = 0 ] || echo 1) + $([ "$rs_load" = 0 ] || echo 1) + 0 ))
expect flrs "$drivers"
at_least() {
	local got
	got=$(field "$1")
	[ "${got:-0}" -ge "$2" ] && result ok "server: $1=$got (at least $2: $3)" ||
		result fail "server: $1=${got:-missing}, expected at least $2 ($3)"
}
if [ "$drivers" -gt 0 ]; then
	at_least smc_requests $((2 * drivers)) "ESTABLISH_HWC and DESTROY_HWC per driver"
	at_least msix_eventfds "$drivers" "the drivers' vectors arrived as eventfds"
	at_least msix_signalled $((10 * drivers)) "the device model's interrupts reached the guest"
	at_least tx_packets $((12 * drivers)) "the pings and their replies"
	at_least req_register_device "$drivers" "each driver registered with the device"
	at_least req_deregister_device "$drivers" "and deregistered"
fi
service_event_checks
second_server_checks
[ "$(field dma_maps)" -ge 1 ] 2> /dev/null && result ok "server: guest RAM arrived as shared memory (dma_maps=$(field dma_maps))" ||
	result fail "server: no DMA map with a descriptor (dma_maps=$(field dma_maps))"
[ "$server_rc" -eq 0 ] && result ok "the server exited cleanly" || result fail "the server exited with $server_rc"
# The C driver and mana-rs, request by request (the server's record; hwc_scenario in the guest).
if [ "$c_load" = modprobe ] && [ "$rs_load" != 0 ]; then
	while IFS= read -r line; do
		case $line in
		"ok - "*) result ok "${line#ok - }" ;;
		"not ok - "*) result fail "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < <("$MANA_RS_REPO/scripts/hwc-compare.py" "$run/hwc.record" "$MANA_RS_REPO/tests/pci/hwc-differences" 2>&1)
fi
if [ "$failed" -gt 0 ]; then
	sed 's/^/# server: /' "$run/server.err"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
exit
}
