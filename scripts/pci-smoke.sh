#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end check of the PCI presentation: starts tools/mana-vfio-user, boots QEMU 11.1
# (scripts/qemu-vfio.sh, TCG) with it as a vfio-user-pci device and a busybox initramfs whose
# /init (scripts/pci-smoke-init.sh) checks from the guest what a MANA VF presents: ids, class,
# BARs, the capability chain, MSI-X vectors, BAR0 registers through devmem; then, each after a
# function level reset, how far the drivers get: the upstream C driver (mana.ko, with Debian's
# or the project's kernel) and mana-rs's core (mana_gdma.ko, with the project's kernel) must
# accept the registers, allocate MSI-X vectors and hand an ESTABLISH_HWC request to the mailbox,
# which no device model answers yet (~30 s each; MANA_RS_PCI_DRIVERS=0 skips them). Then checks
# the server's exit report: no protocol error, no server error, no DMA fault, the mailbox
# handovers, FLRs and the one doorbell. Last line: "N passed, N failed".
#
# The guest kernel: Debian trixie's linux-image-amd64 (its newest, fetched with the private apt
# into $MANA_RS_CACHE/pci), or MANA_RS_PCI_KERNEL=project for the project's test kernel (a copy
# of $MANA_RS_CACHE/build/kernel's bzImage, with its C mana.ko), or MANA_RS_PCI_KERNEL=<path>.
# Any x86-64 kernel with PCI, MSI-X, devtmpfs, /dev/mem and a serial console will do; the driver
# stages need modules built for it (MANA_RS_PCI_C_MODULE=<mana.ko>,
# MANA_RS_PCI_RUST_MODULE=<mana_gdma.ko> name them).

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs cannot change what the running copy does.
{

work=$MANA_RS_CACHE/pci
mkdir -p "$work"
run=$(mktemp -d "$work/run.XXXXXX")
socket=$run/mana0.sock
timeout_s=${MANA_RS_PCI_TIMEOUT:-300}

# The server, built outside the repository.
info "building tools/mana-vfio-user"
CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target nice -n 19 \
	cargo build --quiet --release --locked -j "$MANA_RS_JOBS" \
	--manifest-path "$MANA_RS_REPO/tools/mana-vfio-user/Cargo.toml" ||
	die "building tools/mana-vfio-user failed"
server_bin=$MANA_RS_CACHE/cargo-target/release/mana-vfio-user

"$MANA_RS_REPO/scripts/qemu-vfio.sh" root > /dev/null

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

# The guest kernel and, with Debian's, the upstream C driver built for it.
c_module=${MANA_RS_PCI_C_MODULE:-}
rust_module=${MANA_RS_PCI_RUST_MODULE:-}
case ${MANA_RS_PCI_KERNEL:-debian} in
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
	if [ -z "$c_module" ]; then
		c_module=$(compgen -G "$build/modroot/lib/modules/*/kernel/drivers/net/ethernet/microsoft/mana/mana.ko" | head -n 1) || true
		[ -z "$c_module" ] || { cp "$c_module" "$run/mana.ko" && c_module=$run/mana.ko; }
	fi
	if [ -z "$rust_module" ]; then
		rust_module=$(compgen -G "$build/modroot/lib/modules/*/kernel/drivers/mana_rs/mana_gdma.ko" | head -n 1) || true
		[ -z "$rust_module" ] || { cp "$rust_module" "$run/mana_gdma.ko" && rust_module=$run/mana_gdma.ko; }
	fi
	;;
*)
	kernel=$MANA_RS_PCI_KERNEL
	;;
esac
[ "${MANA_RS_PCI_DRIVERS:-1}" != 0 ] || { c_module= && rust_module=; }
[ -r "$kernel" ] || die "guest kernel $kernel not readable"
info "guest kernel: $kernel${c_module:+; C driver: $c_module}${rust_module:+; mana-rs: $rust_module}"

# The initramfs: static busybox and the checks as /init.
busybox=$(command -v busybox) || die "busybox not found: install busybox-static (make setup)"
! ldd "$busybox" > /dev/null 2>&1 || die "$busybox is not static: install busybox-static"
initrd=$run/root
mkdir -p "$initrd"/{bin,proc,sys,dev}
cp "$busybox" "$initrd/bin/busybox"
for applet in sh mount mkdir cat sed grep hexdump devmem printf echo poweroff insmod rmmod dmesg uname; do
	ln -s busybox "$initrd/bin/$applet"
done
cp "$MANA_RS_REPO/scripts/pci-smoke-init.sh" "$initrd/init"
case $c_module in
*.xz) xz -dc "$c_module" > "$initrd/mana.ko" ;;
?*) cp "$c_module" "$initrd/mana.ko" ;;
esac
[ -z "$rust_module" ] || cp "$rust_module" "$initrd/mana_gdma.ko"
(cd "$initrd" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$run/initrd.gz"

"$server_bin" --socket "$socket" > "$run/server.out" 2> "$run/server.err" &
server_pid=$!
cleanup() {
	kill "$server_pid" 2> /dev/null || true
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
qemu_rc=0
timeout "$timeout_s" "$MANA_RS_REPO/scripts/qemu-vfio.sh" run \
	-machine q35,accel=tcg,memory-backend=mem -cpu max -smp 1 -m 512M \
	-object memory-backend-memfd,id=mem,size=512M,share=on \
	-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$socket\"}}" \
	-kernel "$kernel" -initrd "$run/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet kunit.autorun=0" \
	-display none -serial "file:$console" -monitor none -no-reboot -nodefaults \
	> "$run/qemu.log" 2>&1 || qemu_rc=$?
# QEMU's exit closes the connection; the server prints its report and exits.
for _ in $(seq 100); do
	kill -0 "$server_pid" 2> /dev/null || break
	sleep 0.1
done
server_rc=0
wait "$server_pid" || server_rc=$?

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
grep -q '^mana-pci-smoke: done' "$console" && result ok "the guest ran its checks to the end" ||
	{ result fail "the guest did not finish its checks"; tail -n 30 "$console" | sed 's/^/# console: /'; }
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
# One mailbox handover by devmem, one per driver; an FLR before each driver.
drivers=$(( ${c_module:+1} + ${rust_module:+1} + 0 ))
expect smc_requests $((1 + drivers))
expect flrs "$drivers"
expect doorbells 1
if [ "$drivers" -gt 0 ]; then
	[ "$(field msix_eventfds)" -ge "$drivers" ] 2> /dev/null &&
		result ok "server: the drivers' MSI-X vectors arrived as eventfds (msix_eventfds=$(field msix_eventfds))" ||
		result fail "server: too few MSI-X eventfds (msix_eventfds=$(field msix_eventfds))"
fi
[ "$(field dma_maps)" -ge 1 ] 2> /dev/null && result ok "server: guest RAM arrived as shared memory (dma_maps=$(field dma_maps))" ||
	result fail "server: no DMA map with a descriptor (dma_maps=$(field dma_maps))"
[ "$server_rc" -eq 0 ] && result ok "the server exited cleanly" || result fail "the server exited with $server_rc"
if [ "$failed" -gt 0 ]; then
	sed 's/^/# server: /' "$run/server.err"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
exit
}
