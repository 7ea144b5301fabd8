#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the PCI guest (scripts/pci-smoke.sh; the Debian root filesystem of scripts/rootfs.sh):
# finds the vfio-user MANA function and checks what a MANA VF presents, from sysfs and through
# BAR0; then, each after a function level reset, the drivers on the device model behind it:
# the upstream C driver `mana` (the oracle) and mana-rs (mana_gdma, loaded by the function's PCI
# modalias as udev does, then mana_eth and mana_rdma by their auxiliary modaliases), each
# probing, bringing its two ports up, pinging across the linked ports from two namespaces,
# going down and being removed. mana-rs also changes the MTU of an up interface under a RAW QP
# loop, goes through a device reset and RDMA suspend/resume that the device raises (the server's
# control socket, reached through ttyS1), hands the live function to the C driver and back, and
# pings across the two functions of the second server, whose ports are linked across them. One
# line per check, "ok N - ..." or "not ok N - ...", read by scripts/pci-smoke.sh; then powers off.
#
# Kernel command line: mana_pci_c=insmod|modprobe|0 (how to load the C driver: /mana.ko, the
# module tree, or not at all), mana_pci_rs=1|0 (mana-rs from the module tree),
# mana_pci_control=ttyS1 (the serial port QEMU connects to the server's control socket).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2> /dev/null
mount -t tmpfs -o mode=755 tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run/netns /tmp
# Every kernel log record from boot on, for no_splat.
cat /dev/kmsg > /tmp/kmsg.all 2> /dev/null &
ip link set lo up

c_driver=0
rs_driver=0
control_port=
for arg in $(cat /proc/cmdline); do
	case $arg in
	mana_pci_c=*) c_driver=${arg#mana_pci_c=} ;;
	mana_pci_rs=*) rs_driver=${arg#mana_pci_rs=} ;;
	mana_pci_control=*) control_port=/dev/${arg#mana_pci_control=} ;;
	esac
done

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
finish() {
	echo "mana-pci-smoke: done"
	sync
	busybox poweroff -f
}

dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1414 ] && dev=$d && break
done
check "a PCI function of vendor 1414 is present" [ -n "$dev" ]
[ -n "$dev" ] || finish
slot=${dev##*/}
vendor=$(cat "$dev/vendor")
device=$(cat "$dev/device")
class=$(cat "$dev/class")
rev=$(cat "$dev/revision")
echo "# $slot Ethernet controller [${class#0x}]: Microsoft Corporation Device [${vendor#0x}:${device#0x}] (rev ${rev#0x})"

# The functions of the second server (two functions whose ports are linked across them), if
# any: only mana-rs drives them (driver_override), so the C driver's checks see one function.
others=$(for d in /sys/bus/pci/devices/*; do
	[ "$d" != "$dev" ] && [ "$(cat "$d/vendor")" = 0x1414 ] && echo "$d"
done)
for d in $others; do
	echo mana_gdma > "$d/driver_override"
done
echo "# other MANA functions: $(echo $others)"

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
check "BAR0 is 128 KiB (registers, mailbox, 16 doorbell pages) and assigned" \
	[ "$(bar_size 0)" -eq $((0x20000)) -a "$(bar_start 0)" -ne 0 ]
check "BAR2 (MSI-X) is 8 KiB and assigned" [ "$(bar_size 2)" -eq $((0x2000)) -a "$(bar_start 2)" -ne 0 ]

# The capability chain, from the configuration space.
cfg=$dev/config
byte() {
	busybox hexdump -s "$1" -n 1 -e '1/1 "%u"' "$cfg"
}
word() {
	busybox hexdump -s "$1" -n 2 -e '1/2 "%u"' "$cfg"
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
# mana_gd_init_vf_regs() reads. Nothing is handed to the device here: the model would take a
# made-up request for what it is, a protocol error.
echo 1 > "$dev/enable"
b0=$(bar_start 0)
rd() {
	busybox devmem $((b0 + $1)) "$2"
}
hex() {
	printf "0x%0${2}X" "$1"
}
check "doorbell page size (0x10) reads 4 KiB" eq "$(rd 0x10 32)" "$(hex 0x1000 8)"
check "doorbell page offset (0x08, 64-bit) reads 0x10000" eq "$(rd 0x08 64)" "$(hex 0x10000 16)"
check "SMC offset (0x18, 64-bit) reads 0x100" eq "$(rd 0x18 64)" "$(hex 0x100 16)"
check "the SMC mailbox is free (owner bit clear)" eq "$(rd 0x11c 32)" "$(hex 0 8)"
busybox devmem $((b0 + 0x100)) 32 0x12345678
check "SMC dword 0 keeps what was written" eq "$(rd 0x100 32)" "$(hex 0x12345678 8)"
echo 0 > "$dev/enable"

# A function level reset through the kernel (pcie_flr), before each driver: the function
# starts afresh, the mailbox is the driver's again.
flr() {
	echo 1 > "$dev/enable"
	echo 1 > "$dev/reset"
	check "an FLR before $1 empties the mailbox and gives it back to the driver" \
		eq "$(rd 0x100 32) $(rd 0x11c 32)" "$(hex 0 8) $(hex 0 8)"
	echo 0 > "$dev/enable"
}

# The network interfaces whose device is the function or one of its auxiliary devices, in
# ifindex order.
ifaces() {
	for i in /sys/class/net/*; do
		case $(readlink -f "$i/device") in
		*/"$slot" | */"$slot"/*) echo "$(cat "$i/ifindex") ${i##*/}" ;;
		esac
	done | sort -n | while read -r _ name; do echo "$name"; done
}
# Waits up to 20 s for the function to have $1 interfaces.
wait_ifaces() {
	for _ in $(seq 100); do
		[ "$(ifaces | wc -l)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

# $1: what; $2, $3: the interfaces of the two linked ports; $4: their MTU (default: as they
# are). Each goes into a namespace of its own, up, with an address of one subnet; one pings the
# other across the model's wire (with packets of the MTU when it is given); both go down and
# back to the initial namespace.
link_test() {
	what=$1 a=$2 b=$3 mtu=${4:-}
	ping_size=56
	if [ -n "$mtu" ]; then
		ip link set "$a" mtu "$mtu" && ip link set "$b" mtu "$mtu"
		# Exactly one MTU: IPv4 and ICMP headers are 28 bytes.
		ping_size=$((mtu - 28))
		what="$what, MTU $mtu"
	fi
	ip netns add mana_a && ip netns add mana_b
	ip link set "$a" netns mana_a && ip link set "$b" netns mana_b
	ip -n mana_a addr add 192.0.2.1/24 dev "$a"
	ip -n mana_b addr add 192.0.2.2/24 dev "$b"
	ip -n mana_a link set "$a" up
	ip -n mana_b link set "$b" up
	check "$what: $a and $b are up with carrier" \
		sh -c "[ \"\$(ip netns exec mana_a cat /sys/class/net/$a/carrier)\" = 1 ] &&
			[ \"\$(ip netns exec mana_b cat /sys/class/net/$b/carrier)\" = 1 ]"
	ip netns exec mana_a ping -c 3 -i 0.2 -W 5 -M do -s "$ping_size" 192.0.2.2 > /tmp/ping 2>&1
	check "$what: $a pings $b across the linked ports" grep -q ' 0% packet loss' /tmp/ping
	sed 's/^/# /' /tmp/ping | tail -n 2
	ip -n mana_a link set "$a" down
	ip -n mana_b link set "$b" down
	ip -n mana_a link set "$a" netns 1
	ip -n mana_b link set "$b" netns 1
	ip netns del mana_a
	ip netns del mana_b
}

# Kernel log lines of the MANA drivers since the last call, as comments; kept in /tmp/drv.log.
show_log() {
	dmesg -c | grep -E 'mana|gdma' | tee -a /tmp/drv.log | sed 's/^/# dmesg: /'
}
# No failure or error line of the driver under test since /tmp/drv.log was emptied.
no_failure() {
	! grep -qiE 'fail|error|timed out|unknown' /tmp/drv.log
}

# A warning, BUG or lockdep report in the kernel log since boot: the copy of /dev/kmsg kept
# from the start (`dmesg -c` clears the syslog view after each step).
no_splat() {
	! grep -qE 'WARNING:|BUG:|possible circular locking|inconsistent lock state|Oops' /tmp/kmsg.all
}

# --- Service events, MTU under a RAW QP loop, two functions, driver switching ---

# The network interfaces of the function in PCI slot $1 (in ifindex order).
slot_ifaces() {
	for i in /sys/class/net/*; do
		case $(readlink -f "$i/device") in
		*/"$1" | */"$1"/*) echo "$(cat "$i/ifindex") ${i##*/}" ;;
		esac
	done | sort -n | while read -r _ name; do echo "$name"; done
}

# The RDMA device (manae_N) of the function in PCI slot $1.
slot_ibdev() {
	for i in /sys/class/infiniband/*; do
		case $(readlink -f "$i/device") in
		*/"$1" | */"$1"/*) echo "${i##*/}" && return ;;
		esac
	done
}

# control COMMAND: sends one command to the server's control socket through the serial port
# QEMU connects to it; prints the answer line ("ok" or "error: ...").
control() {
	[ -n "$control_port" ] || { echo "error: no control port (mana_pci_control)"; return; }
	if [ -z "$control_open" ]; then
		exec 7<> "$control_port"
		stty raw -echo <&7
		control_open=1
	fi
	printf '%s\n' "$1" >&7
	timeout 30 head -n 1 <&7 | tr -d '\r'
}

# Waits up to $2 tenths of a second for a kernel log line matching $1.
wait_dmesg() {
	for _ in $(seq "$2"); do
		dmesg | grep -q "$1" && return 0
		sleep 0.1
	done
	return 1
}

# The device asks mana-rs for a reset (through the server's control socket): the driver takes
# the adapter down, waits the service period (10 s) and brings it up again, with new
# interfaces that ping again. Then RDMA suspend and resume: the RDMA device goes and comes
# back, the interfaces stay.
rs_service_events() {
	set -- $(ifaces)
	[ $# -ge 1 ] && ip link set "$1" up
	show_log > /dev/null
	answer=$(control "service 0 reset")
	check "the server's device asks for a reset while $1 is up (service 0 reset: $answer)" eq "$answer" ok
	check "mana-rs runs the reset cycle to its end" \
		wait_dmesg 'reset cycle completed' 900
	dmesg | grep -E 'reset cycle|requested' | sed 's/^/# dmesg: /'
	check "after the reset mana_eth has its two ports again" wait_ifaces 2
	show_log
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "mana-rs after a device reset" "$1" "$2"
	ibdev=$(slot_ibdev "$slot")
	answer=$(control "service 0 rdma-suspend")
	check "the server's device suspends RDMA (service 0 rdma-suspend: $answer)" eq "$answer" ok
	check "the RDMA device $ibdev goes away" \
		sh -c "for i in \$(seq 300); do [ -e /sys/class/infiniband/$ibdev ] || exit 0; sleep 0.1; done; exit 1"
	answer=$(control "service 0 rdma-resume")
	check "the server's device resumes RDMA (service 0 rdma-resume: $answer)" eq "$answer" ok
	for _ in $(seq 300); do
		[ -n "$(slot_ibdev "$slot")" ] && break
		sleep 0.1
	done
	check "an RDMA device of the function is back ($(slot_ibdev "$slot"))" [ -n "$(slot_ibdev "$slot")" ]
	check "the interfaces stayed through RDMA suspend and resume" eq "$(ifaces | wc -l)" 2
	show_log
}

# An MTU change of the up interface $1 while `raw_qp loop` creates RAW QPs on its vport: every
# change succeeds, every creation gets EBUSY (the vport is never free in between), and the
# carrier never drops.
rs_mtu_under_raw_qp_loop() {
	a=$1 ibdev=$(slot_ibdev "$slot")
	ip link set "$a" up
	for _ in $(seq 100); do
		[ "$(cat "/sys/class/net/$a/carrier")" = 1 ] && break
		sleep 0.1
	done
	flaps=$(cat "/sys/class/net/$a/carrier_changes")
	raw_qp -d "$ibdev" loop > /tmp/loop 2>&1 < /dev/null &
	looper=$!
	for _ in $(seq 600); do
		grep -q '^loop: ' /tmp/loop && break
		kill -0 "$looper" 2> /dev/null || break
		sleep 0.1
	done
	mtu_ok=0
	for mtu in 1400 1500 4000 1500 1400 1500; do
		ip link set "$a" mtu "$mtu" && mtu_ok=$((mtu_ok + 1))
	done
	kill -TERM "$looper"
	wait "$looper"
	sed 's/^/# raw_qp: /' /tmp/loop | tail -n 2
	check "6 MTU changes of the up $a under a RAW QP loop succeed" eq "$mtu_ok" 6
	check "every RAW QP creation of the loop got EBUSY, none slipped in" \
		grep -qE '^loop: [1-9][0-9]* attempts, 0 created, EBUSY x[1-9][0-9]*$' /tmp/loop
	check "$a kept its carrier through the changes (no flap)" \
		eq "$(cat "/sys/class/net/$a/carrier") $(cat "/sys/class/net/$a/carrier_changes")" "1 $flaps"
	check "$a is up with MTU 1500" eq "$(cat "/sys/class/net/$a/operstate") $(cat "/sys/class/net/$a/mtu")" "up 1500"
	ip link set "$a" down
	dmesg -c > /dev/null
}

# The second server's two functions (their ports linked across the functions), bound to
# mana-rs with the first: port 0 of one pings port 0 of the other.
rs_two_functions() {
	set -- $others
	[ $# -eq 2 ] || { echo "# no second server's functions: no two-function checks"; return; }
	fa=${1##*/} fb=${2##*/}
	check "mana_gdma binds both functions of the second server" \
		eq "$(basename "$(readlink -f "$1/driver")") $(basename "$(readlink -f "$2/driver")")" "mana_gdma mana_gdma"
	for _ in $(seq 100); do
		[ "$(slot_ifaces "$fa" | wc -l)" -ge 2 ] && [ "$(slot_ifaces "$fb" | wc -l)" -ge 2 ] && break
		sleep 0.2
	done
	a=$(slot_ifaces "$fa" | head -n 1)
	b=$(slot_ifaces "$fb" | head -n 1)
	check "each of the two functions has two interfaces" \
		eq "$(slot_ifaces "$fa" | wc -l) $(slot_ifaces "$fb" | wc -l)" "2 2"
	[ -n "$a" ] && [ -n "$b" ] && link_test "two functions ($fa and $fb)" "$a" "$b"
	show_log
}

# Switches the function between the drivers while it is live, both ways, as an administrator
# does (Documentation/admin-guide.rst, "mana-rs and the C driver on one kernel"): the
# blacklist keeps modalias loading on mana-rs, driver_override names the driver the function
# may bind, unbind releases it and bind hands it over. Each driver then pings across the two
# ports.
rs_switch_drivers() {
	[ "$c_driver" = modprobe ] || { echo "# the C driver is not in the module tree: no switching"; return; }
	modprobe mana
	echo mana > "$dev/driver_override"
	echo "$slot" > /sys/bus/pci/drivers/mana_gdma/unbind
	echo "$slot" > /sys/bus/pci/drivers/mana/bind
	check "switch to the C driver: driver_override, unbind from mana_gdma, bind to mana" \
		eq "$(basename "$(readlink -f "$dev/driver")")" mana
	check "the C driver registers the function's two ports" wait_ifaces 2
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "the C driver after the switch" "$1" "$2"
	bound=$(for d in $others; do basename "$(readlink -f "$d/driver")"; done | sort -u)
	check "the other functions stayed with mana_gdma" eq "$(echo $bound)" "$([ -z "$others" ] || echo mana_gdma)"
	echo mana_gdma > "$dev/driver_override"
	echo "$slot" > /sys/bus/pci/drivers/mana/unbind
	echo "$slot" > /sys/bus/pci/drivers/mana_gdma/bind
	check "switch back: driver_override, unbind from mana, bind to mana_gdma" \
		eq "$(basename "$(readlink -f "$dev/driver")")" mana_gdma
	check "mana-rs registers the function's two ports again" wait_ifaces 2
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "mana-rs after the switch back" "$1" "$2"
	echo > "$dev/driver_override"
	rmmod mana
	check "the blacklist is still in place" grep -qx 'blacklist mana' /etc/modprobe.d/mana-c-driver.conf
	show_log
}

# The steps the server's record (mana-vfio-user --record) compares between the drivers
# (scripts/hwc-compare.py): the guest marks each by writing its number to the function's
# cache-line-size register (scratch on a PCI Express function; the server records it as
# "mark N"). 1 probe, 2 up, 3 MTU change, 4 channel change, 5 down, 6 remove, 7 end.
mark() {
	printf "\\$(printf '%03o' "$1")" | dd of="$dev/config" bs=1 seek=12 count=1 conv=notrunc 2> /dev/null
}
# $1: what; $2: the command that loads the driver; $3: the one that removes it. Runs right
# after an FLR, so that the record of each driver starts afresh.
hwc_scenario() {
	mark 1
	sh -c "$2"
	check "$1 (recorded scenario): probes two ports" wait_ifaces 2
	set -- "$1" $(ifaces) "$3"
	mark 2
	ip link set "$2" up
	mark 3
	ip link set "$2" mtu 4000
	mark 4
	ethtool -L "$2" combined 1
	mark 5
	ip link set "$2" down
	mark 6
	sh -c "$4"
	mark 7
	check "$1 (recorded scenario): up, MTU 4000, 1 channel, down, remove" eq "$(ifaces | wc -l)" 0
}

# The C driver's ethtool operations on port $1 while it is up: channels, rings and the RSS
# indirection table, read and changed (each change detaches and re-attaches the port's queues).
c_ethtool() {
	ip link set "$1" up
	ethtool -l "$1" > /tmp/eth 2>&1
	sed 's/^/# ethtool -l: /' /tmp/eth
	# The "Combined" lines: the maximum first, then the current count.
	combined_max=$(awk '/^Combined:/ { print $2; exit }' /tmp/eth)
	check "the C driver: ethtool -l $1 reports combined channels (maximum ${combined_max:-none})" \
		[ "${combined_max:-0}" -ge 2 ]
	ethtool -L "$1" combined 2 > /tmp/eth 2>&1
	check "the C driver: ethtool -L $1 combined 2" eq "$?:$(cat /tmp/eth)" "0:"
	check "the C driver: ethtool -l $1 then reports 2 combined channels" \
		eq "$(ethtool -l "$1" | awk '/^Combined:/ { n = $2 } END { print n }')" 2
	ethtool -g "$1" > /tmp/eth 2>&1
	sed 's/^/# ethtool -g: /' /tmp/eth | head -n 12
	check "the C driver: ethtool -g $1 reports RX and TX rings" \
		sh -c "[ \"\$(grep -c '^RX:' /tmp/eth)\" -ge 2 ] && [ \"\$(grep -c '^TX:' /tmp/eth)\" -ge 2 ]"
	ethtool -G "$1" rx 256 tx 512 > /tmp/eth 2>&1
	check "the C driver: ethtool -G $1 rx 256 tx 512" eq "$?:$(cat /tmp/eth)" "0:"
	check "the C driver: ethtool -g $1 then reports rx 256 tx 512" \
		eq "$(ethtool -g "$1" | awk '/^Current/ { cur = 1 } cur && /^RX:/ { rx = $2 } cur && /^TX:/ { tx = $2 } END { print rx, tx }')" "256 512"
	ethtool -x "$1" > /tmp/eth 2>&1
	sed 's/^/# ethtool -x: /' /tmp/eth | sed -n '1,3p;/key/,$p'
	# Every indirection table entry names one of the 2 channels, and both are used.
	check "the C driver: ethtool -x $1 spreads its indirection table over the 2 channels" \
		eq "$(awk '/^ *[0-9]+:/ { for (i = 2; i <= NF; i++) seen[$i]++ } END { for (q in seen) print q }' /tmp/eth | sort | tr '\n' ' ')" "0 1 "
	ethtool -L "$1" combined "$combined_max" > /dev/null 2>&1
	ip link set "$1" down
}

# The C RDMA driver mana_ib on the function: its raw-packet IB device as ibv_devinfo shows it,
# and the RAW QPs DPDK's MANA PMD creates (tests/e2e/raw_qp.c), while the ports are down (the
# vport belongs to RDMA then) and, for the first port, while it is up (EBUSY).
c_rdma() {
	modprobe mana_ib
	ibdev=
	for _ in $(seq 50); do
		ibdev=$(ls /sys/class/infiniband 2> /dev/null | grep '^manae_' | head -n 1)
		[ -n "$ibdev" ] && break
		sleep 0.2
	done
	check "mana_ib registers a raw-packet IB device (manae_N)" [ -n "$ibdev" ]
	[ -n "$ibdev" ] || { rmmod mana_ib; return; }
	ibv_devinfo -d "$ibdev" > /tmp/ibv 2>&1
	ibv_rc=$?
	sed 's/^/# ibv_devinfo: /' /tmp/ibv
	# The part id is the GDMA device type (2: Ethernet), which DPDK checks.
	check "ibv_devinfo -d $ibdev: vendor 0x1414 (Microsoft), part 2 (GDMA Ethernet), two ports" \
		sh -c "[ $ibv_rc -eq 0 ] && grep -q 'vendor_id:.*0x1414' /tmp/ibv &&
			grep -qE 'vendor_part_id:[[:space:]]+2\$' /tmp/ibv &&
			[ \"\$(grep -c '^[[:space:]]*port:' /tmp/ibv)\" -eq 2 ]"
	if command -v raw_qp > /dev/null; then
		raw_qp -d "$ibdev" once > /tmp/rq 2>&1
		rq_rc=$?
		sed 's/^/# raw_qp: /' /tmp/rq | tail -n 4
		check "raw_qp on $ibdev: creates and destroys DPDK's RAW QPs through mana_ib" \
			eq "$rq_rc" 0
		raw_qp -d "$ibdev" loop 20 > /tmp/rq 2>&1
		rq_rc=$?
		sed 's/^/# raw_qp: /' /tmp/rq | tail -n 2
		check "raw_qp on $ibdev: 20 create/destroy cycles" \
			sh -c "[ $rq_rc -eq 0 ] && grep -q '^loop: 20 attempts, 20 created' /tmp/rq"
		set -- $(ifaces)
		ip link set "$1" up
		raw_qp -d "$ibdev" once > /tmp/rq 2>&1
		sed 's/^/# raw_qp: /' /tmp/rq | tail -n 2
		check "with $1 up, the C driver refuses a RAW QP of its port (EBUSY)" \
			grep -q '^create_qp tx0: EBUSY' /tmp/rq
		ip link set "$1" down
	else
		echo "# raw_qp is not built (make e2e builds it): no RAW QPs on $ibdev"
	fi
	rmmod mana_ib
	check "rmmod mana_ib: $ibdev is gone" [ ! -e "/sys/class/infiniband/$ibdev" ]
}

dmesg -c > /dev/null

if [ "$c_driver" != 0 ]; then
	flr "the C driver"
	[ "$c_driver" != modprobe ] || hwc_scenario "the C driver" "modprobe mana" "rmmod mana"
	: > /tmp/drv.log
	if [ "$c_driver" = insmod ]; then
		insmod /mana.ko
	else
		modprobe mana
	fi
	check "the C driver probes the function and registers two ports" wait_ifaces 2
	show_log
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "the C driver" "$1" "$2"
	set -- $(ifaces)
	[ $# -ge 1 ] && c_ethtool "$1"
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "the C driver" "$1" "$2" 4000
	[ "$c_driver" = modprobe ] && c_rdma
	rmmod mana
	check "the C driver unbinds: its interfaces are gone" eq "$(ifaces | wc -l)" 0
	show_log
	check "the C driver logged no failure (the model answers all it asks)" no_failure
fi

if [ "$rs_driver" != 0 ]; then
	flr "mana-rs"
	hwc_scenario "mana-rs" "modprobe mana_gdma && modprobe mana_eth" "rmmod mana_eth mana_gdma"
	: > /tmp/drv.log
	[ -e /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak
	modalias=$(cat "$dev/modalias")
	check "modprobe of the function's modalias loads mana_gdma (mana is blacklisted)" \
		sh -c "modprobe -a '$modalias' && [ -d /sys/module/mana_gdma ] && [ ! -d /sys/module/mana ]"
	check "mana_gdma binds the function" eq "$(basename "$(readlink -f "$dev/driver")")" mana_gdma
	aux=$(for a in /sys/bus/auxiliary/devices/*; do
		case $(readlink -f "$a") in */"$slot"/*) sed -n 's/^MODALIAS=//p' "$a/uevent" ;; esac
	done | sort -u)
	echo "# auxiliary modaliases: $(echo $aux)"
	check "the auxiliary modaliases load mana_eth and mana_rdma" \
		sh -c "modprobe -a $(echo $aux) && [ -d /sys/module/mana_eth ] && [ -d /sys/module/mana_rdma ]"
	check "mana_eth registers two ports" wait_ifaces 2
	show_log
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "mana-rs" "$1" "$2"
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "mana-rs" "$1" "$2" 4000
	# The vport belongs to the interface while it is up, to RDMA while RAW QPs exist (as
	# DPDK's MANA PMD makes them): each side gets EBUSY, and the log names the owner.
	set -- $(ifaces)
	if ! command -v raw_qp > /dev/null; then
		echo "# raw_qp is not built (make e2e builds it): no EBUSY checks"
	elif [ $# -ge 1 ]; then
		ip link set "$1" up
		raw_qp -d "$(slot_ibdev "$slot")" once > /tmp/rq 2>&1
		dmesg -c > /tmp/owner.log
		sed 's/^/# raw_qp: /' /tmp/rq | tail -n 3
		check "with $1 up, a RAW QP of its port gets EBUSY" grep -q '^create_qp tx0: EBUSY' /tmp/rq
		check "the kernel log names the owner ($1) and the remedy" \
			grep -q "is held by netdev $1.*ip link set $1 down" /tmp/owner.log
		ip link set "$1" down
		raw_qp -d "$(slot_ibdev "$slot")" hold > /tmp/hold 2>&1 < /dev/null &
		holder=$!
		for _ in $(seq 300); do
			grep -q '^holding' /tmp/hold && break
			kill -0 "$holder" 2> /dev/null || break
			sleep 0.2
		done
		check "with $1 down, raw_qp creates its RAW QPs and holds them" grep -q '^holding' /tmp/hold
		ip link set "$1" up 2> /tmp/up
		up_rc=$?
		dmesg -c > /tmp/owner.log
		check "with RAW QPs held, ip link set $1 up gets EBUSY" \
			sh -c "[ $up_rc -ne 0 ] && grep -q 'Device or resource busy' /tmp/up"
		check "the kernel log names the owner (RDMA) and the remedy" \
			grep -q "is held by RDMA.*destroy the raw QPs before ip link set $1 up" /tmp/owner.log
		[ "$up_rc" -ne 0 ] || ip link set "$1" down
		kill -TERM "$holder"
		wait "$holder"
		check "raw_qp destroys its QPs and exits" grep -q '^hold: done' /tmp/hold
		# A RAW QP needs CAP_NET_RAW, as with the C driver: an unprivileged user and root
		# without the capability get EPERM, and the refused QPs take nothing.
		setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all \
			raw_qp -d "$(slot_ibdev "$slot")" once > /tmp/rq 2>&1
		check "an unprivileged user gets EPERM at the RAW QP (CAP_NET_RAW)" grep -q '^create_qp tx0: EPERM' /tmp/rq
		setpriv --bounding-set=-net_raw --inh-caps=-net_raw raw_qp -d "$(slot_ibdev "$slot")" once > /tmp/rq 2>&1
		check "root without CAP_NET_RAW gets EPERM at the RAW QP" grep -q '^create_qp tx0: EPERM' /tmp/rq
		check "the refused QPs took nothing: $1 comes up" ip link set "$1" up
		ip link set "$1" down
		rs_mtu_under_raw_qp_loop "$1"
	fi
	rs_service_events
	rs_two_functions
	rs_switch_drivers
	# Unbind and bind the function through sysfs: each cycle takes the adapter down (the
	# clients' devices, DESTROY_HWC) and brings it up again; mana_eth and mana_rdma rebind.
	cycles=0
	for _ in $(seq 20); do
		echo "$slot" > /sys/bus/pci/drivers/mana_gdma/unbind || break
		echo "$slot" > /sys/bus/pci/drivers/mana_gdma/bind || break
		cycles=$((cycles + 1))
	done
	check "20 sysfs unbind/bind cycles of the function" eq "$cycles" 20
	check "after them mana_eth has its two ports again" wait_ifaces 2
	show_log
	set -- $(ifaces)
	[ $# -ge 2 ] && link_test "mana-rs after the cycles" "$1" "$2"
	check "rmmod mana_rdma mana_eth mana_gdma" rmmod mana_rdma mana_eth mana_gdma
	check "mana-rs's interfaces are gone" eq "$(ifaces | wc -l)" 0
	show_log
	check "mana-rs logged no failure" no_failure
	if [ -e /sys/kernel/debug/kmemleak ]; then
		# Objects younger than 5 s are not reported: scan, wait, scan again.
		echo scan > /sys/kernel/debug/kmemleak
		sleep 6
		echo scan > /sys/kernel/debug/kmemleak
		check "kmemleak finds no leak of mana-rs" eq "$(grep -c '^unreferenced' /sys/kernel/debug/kmemleak)" 0
		sed -n '1,40p' /sys/kernel/debug/kmemleak | sed 's/^/# /'
	fi
fi

check "no warning, BUG or lockdep report in the kernel log" no_splat
finish
