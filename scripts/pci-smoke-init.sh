#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the PCI smoke guest (busybox): finds the vfio-user MANA function and checks what a
# MANA VF presents, from sysfs and through BAR0 with devmem; then, after a function level reset
# each, how far the upstream C driver (/mana.ko) and mana-rs's core (/mana_gdma.ko) get, when
# they are there. One line per check, "ok N - ..." or "not ok N - ...", read by
# scripts/pci-smoke.sh; then powers off.

export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2> /dev/null

echo "# guest kernel $(uname -r)"
n=0
check() {
	n=$((n + 1))
	desc=$1
	shift
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
	fi
}
eq() {
	[ "$1" = "$2" ] || { echo "# got '$1', expected '$2'"; return 1; }
}

dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1414 ] && dev=$d && break
done
check "a PCI function of vendor 1414 is present" [ -n "$dev" ]
if [ -z "$dev" ]; then
	echo "mana-pci-smoke: done"
	poweroff -f
fi
slot=${dev##*/}
vendor=$(cat "$dev/vendor")
device=$(cat "$dev/device")
class=$(cat "$dev/class")
rev=$(cat "$dev/revision")
# What `lspci -nn` prints for it (busybox has no lspci).
echo "# $slot Ethernet controller [${class:2:4}]: Microsoft Corporation Device [${vendor#0x}:${device#0x}] (rev ${rev#0x})"

check "device id 00ba (MANA VF)" eq "$device" 0x00ba
check "revision 01" eq "$rev" 0x01
check "class 020000 (Ethernet controller)" eq "$class" 0x020000

# BARs from sysfs: start, end, flags per line.
bar() {
	sed -n "$(($1 + 1))p" "$dev/resource"
}
bar_size() {
	set -- $(bar "$1")
	echo $(($2 - $1 + 1))
}
bar_start() {
	set -- $(bar "$1")
	echo $(($1))
}
bar_flags() {
	set -- $(bar "$1")
	echo $(($3))
}
# IORESOURCE_MEM 0x200, IORESOURCE_MEM_64 0x100000.
check "BAR0 is 64-bit memory" [ $(($(bar_flags 0) & 0x100200)) -eq $((0x100200)) ]
check "BAR0 is 512 KiB and assigned" [ "$(bar_size 0)" -eq $((0x80000)) -a "$(bar_start 0)" -ne 0 ]
check "BAR2 (MSI-X) is 8 KiB and assigned" [ "$(bar_size 2)" -eq $((0x2000)) -a "$(bar_start 2)" -ne 0 ]

# The capability chain, from the configuration space.
cfg=$dev/config
byte() {
	hexdump -s "$1" -n 1 -e '1/1 "%u"' "$cfg"
}
word() {
	hexdump -s "$1" -n 2 -e '1/2 "%u"' "$cfg"
}
chain=
msix_vectors=
ptr=$(byte 52)
hops=0
while [ "$ptr" -ne 0 ] && [ $hops -lt 48 ]; do
	id=$(byte "$ptr")
	chain="$chain $(printf '%02x@%02x' "$id" "$ptr")"
	[ "$id" -eq 17 ] && msix_vectors=$((($(word $((ptr + 2))) & 0x7ff) + 1))
	ptr=$(byte $((ptr + 1)))
	hops=$((hops + 1))
done
echo "# capabilities:$chain"
check "capability chain: PCI Express, then MSI-X" eq "$chain" " 10@40 11@80"
check "MSI-X has 64 vectors" eq "$msix_vectors" 64

# BAR0 through the CPU: enable memory decoding, then read the registers
# mana_gd_init_vf_regs() reads, write the mailbox and ring a doorbell.
echo 1 > "$dev/enable"
b0=$(bar_start 0)
rd() {
	devmem $((b0 + $1)) "$2"
}
hex() {
	printf "0x%0${2}X" "$1"
}
check "doorbell page size (0x10) reads 4 KiB" eq "$(rd 0x10 32)" "$(hex 0x1000 8)"
check "doorbell page offset (0x08, 64-bit) reads 0x10000" eq "$(rd 0x08 64)" "$(hex 0x10000 16)"
check "SMC offset (0x18, 64-bit) reads 0x100" eq "$(rd 0x18 64)" "$(hex 0x100 16)"
check "the SMC mailbox is free (owner bit clear)" eq "$(rd 0x11c 32)" "$(hex 0 8)"
devmem $((b0 + 0x100)) 32 0x12345678
check "SMC dword 0 keeps what was written" eq "$(rd 0x100 32)" "$(hex 0x12345678 8)"
devmem $((b0 + 0x10ff8)) 64 0x0000000100000005
check "doorbell pages read as zero" eq "$(rd 0x10ff8 64)" "$(hex 0 16)"
devmem $((b0 + 0x11c)) 32 0x00000001
check "writing the last SMC dword hands the mailbox to the device" eq "$(rd 0x11c 32)" "$(hex 0x80000001 8)"

# A function level reset through the kernel (pcie_flr), before each driver: the function
# starts afresh, the mailbox is the driver's again.
flr() {
	echo 1 > "$dev/reset"
	check "an FLR before $1 gives the mailbox back to the driver" eq "$(rd 0x11c 32)" "$(hex 0 8)"
}

# A driver as the first outside opinion: it must accept the registers and get as far as the SMC
# request, which no device model answers yet (it gives up after 20000 polls, 20-40 s).
# $1: what, $2: module, $3: pattern of a complaint about registers or MSI-X, $4: pattern of the
# expected failure at the mailbox.
driver() {
	flr "$1"
	dmesg -c > /dev/null
	echo "# loading $1 ($2); its SMC request stays unanswered"
	insmod "$2"
	dmesg > /tmp/dmesg
	grep -E '(^|[] ])mana' /tmp/dmesg | sed 's/^/# dmesg: /'
	check "$1 accepts the BAR0 registers and MSI-X" sh -c "! grep -qE '$3' /tmp/dmesg"
	check "$1 stops at the unanswered SMC request" grep -qE "$4" /tmp/dmesg
	last=$(rd 0x11c 32)
	echo "# mailbox after $1: $(rd 0x100 32) ... $(rd 0x118 32) $last"
	check "$1 handed an ESTABLISH_HWC request (type 1) to the device" \
		[ $((last & 0x80000087)) -eq $((0x80000001)) ]
}

mkdir -p /tmp
if [ -f /mana.ko ]; then
	driver "the C driver" /mana.ko 'Doorbell page size|Doorbell offset|SHM offset|MSI|IRQ' \
		'Error when setting up HWC'
	rmmod mana
fi
if [ -f /mana_gdma.ko ]; then
	driver "mana-rs's mana_gdma" /mana_gdma.ko 'register layout|MSI-X|IRQ|BAR0|DMA mask' \
		'cannot bring the adapter up'
fi
echo "mana-pci-smoke: done"
poweroff -f
