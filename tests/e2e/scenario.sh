#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The end-to-end scenario of mana-rs, run inside the QEMU guest that scripts/e2e.sh boots: the
# module kernel (mana_gdma, mana_eth, mana_rdma as modules) on a root filesystem of Debian
# packages (iproute2, ethtool, kmod, rdma-core's libibverbs + libmana), with raw_qp
# (tests/e2e/raw_qp.c) creating QPs the way DPDK's MANA PMD does.
#
#   scenario.sh run    the seed scenario as a transcript: each command, its output, its status,
#                      and whether it did what the scenario expects
#   scenario.sh test   the same steps plus the checks below, as KTAP (suite mana_rs_e2e, one case
#                      per assertion) for scripts/ktap.py, then the kernel log
#
# Seed scenario: load the software device and the drivers -> ip link shows eth0, ibv_devinfo
# shows manae_0 -> ip link set eth0 up -> a RAW QP gets EBUSY and the kernel log names the owner
# -> ip link set eth0 down -> the QP is created and held -> ip link set eth0 up fails with
# "Device or resource busy" -> the QP is destroyed -> up works -> ping across the two linked
# ports of the software adapter, each in its own network namespace, over IPv4 and IPv6 -> an XDP
# program attached, replaced and detached on the up eth0 while another process loops on RAW QP
# creation (every create EBUSY, ping continues; MTU 9000 refused with the reason) -> an MTU
# change (9000) and a channel change (ethtool -L) on both up ports -> TCP: 4 MB each way with
# socat, the received bytes compared with the sent ones, and iperf3 with 4 streams each way.
# Test mode adds: CAP_NET_RAW (EPERM for an unprivileged user and for root without it); RAW QP
# create/destroy leaves admin state and carrier alone; an MTU change on an up interface while
# another process loops on RAW QP creation; rmmod with QPs open; no leak after unloading.

MODE=${1:-run}
SW=/sys/kernel/debug/mana_gdma
VPORT0=$SW/adapter0/vport0
OUT=/tmp/step.out
N=0
FAILED=0
PASSED=0
PENDING=0

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin

# --- transcript and assertions ---------------------------------------------------------------

say() {
	echo "$@"
}

section() {
	echo
	echo "=== $* ==="
	# Where the time goes (seconds since boot), for whoever tunes the run's length.
	echo "# at $(cut -d' ' -f1 /proc/uptime) s"
}

# step CMD: prints "$ CMD", runs it, prints its output (indented) and exit status.
# Sets RC, and leaves the output in $OUT.
step() {
	echo
	echo "\$ $*"
	DMESG_MARK=$(dmesg | wc -l)
	sh -c "$*" > "$OUT" 2>&1
	RC=$?
	sed 's/^/  /' "$OUT"
	echo "  [exit status $RC]"
	return 0
}

# show_dmesg: the last kernel log lines, as a transcript step that keeps the previous step's
# mark, so that dmesg_has still looks at what that step logged.
show_dmesg() {
	echo
	echo "\$ dmesg | tail -n 3"
	dmesg | tail -n 3 | sed 's/^/  /'
}

# The kernel log lines since the last step began.
dmesg_new() {
	dmesg | tail -n +"$((DMESG_MARK + 1))" | sed 's/^\[[^]]*\] //'
}

# expect NAME DESCRIPTION TEST...: asserts TEST (a command; status 0 = as expected).
expect() {
	name=$1
	desc=$2
	shift 2
	N=$((N + 1))
	if "$@" > /tmp/expect.out 2>&1; then
		PASSED=$((PASSED + 1))
		if [ "$MODE" = test ]; then
			echo "    ok $N $name"
		else
			echo "  -> as expected: $desc"
		fi
		if pending=$(pending_reason "$name"); then
			echo "    # $name passes now: drop it from tests/e2e/pending"
		fi
	elif pending=$(pending_reason "$name"); then
		PENDING=$((PENDING + 1))
		if [ "$MODE" = test ]; then
			echo "    # $name: expected $desc"
			sed 's/^/    # /' /tmp/expect.out | tail -n 10
			echo "    not ok $N $name # SKIP pending: $pending"
		else
			echo "  -> NOT YET as expected: $desc"
			echo "     (pending: $pending)"
			sed 's/^/     /' /tmp/expect.out | tail -n 10
		fi
	else
		FAILED=$((FAILED + 1))
		if [ "$MODE" = test ]; then
			echo "    # $name: expected $desc"
			sed 's/^/    # /' /tmp/expect.out | tail -n 10
			echo "    not ok $N $name"
		else
			echo "  -> NOT as expected: $desc"
			sed 's/^/     /' /tmp/expect.out | tail -n 10
		fi
	fi
}

# pending_reason CASE: prints why CASE is listed in tests/e2e/pending (status 1 if it is not,
# or if mana_e2e_strict=1 is on the kernel command line).
pending_reason() {
	[ -f /e2e/pending ] || return 1
	grep -qw 'mana_e2e_strict=1' /proc/cmdline && return 1
	r=$(sed -n "s/^$1 //p" /e2e/pending)
	[ -n "$r" ] && echo "$r"
}

rc_is() {
	[ "$RC" -eq "$1" ] || { echo "exit status $RC, not $1"; return 1; }
}

rc_not() {
	[ "$RC" -ne "$1" ] || { echo "exit status $RC"; return 1; }
}

out_has() {
	grep -qE "$1" "$OUT" || { echo "output lacks /$1/:"; tail -n 5 "$OUT"; return 1; }
}

out_lacks() {
	! grep -E "$1" "$OUT" || { echo "output has /$1/"; return 1; }
}

dmesg_has() {
	dmesg_new | grep -qE "$1" || { echo "kernel log since the step lacks /$1/:"; dmesg_new | tail -n 5; return 1; }
}

file_has() {
	grep -qE "$2" "$1" || { echo "$1 lacks /$2/:"; tail -n 5 "$1" 2> /dev/null; return 1; }
}

owner_is() {
	o=$(cat "$VPORT0" 2> /dev/null)
	echo "$o" | grep -qE "^$1" || { echo "vport0 owner is '$o', not /$1/"; return 1; }
}

rc_le() {
	[ "$RC" -le "$1" ] || { echo "exit status $RC"; return 1; }
}

no_ib_device() {
	[ ! -e "/sys/class/infiniband/$1" ] || { echo "/sys/class/infiniband/$1 is still there"; return 1; }
}

# if_held CHECK ARGS...: CHECK, but only meaningful (and passing) if raw_qp held its QPs.
if_held() {
	held - && "$@"
}

both() {
	"$1" "$2" && "$3" "$4"
}

# all_of PATTERN...: $OUT matches every PATTERN.
all_of() {
	for p in "$@"; do
		out_has "$p" || return 1
	done
}

# qps_distinct N: $OUT (rdma res show qp) lists N QPs, each under its own number.
qps_distinct() {
	n=$(grep -c 'lqpn ' "$OUT")
	u=$(grep -o 'lqpn [0-9]*' "$OUT" | sort -u | wc -l)
	[ "$n" -eq "$1" ] && [ "$u" -eq "$1" ] || { echo "$n QPs listed under $u numbers, expected $1 under $1"; return 1; }
}

# The kernel log lines since mark $1 that report a kernel problem.
kernel_problems() {
	dmesg | tail -n +"$(($1 + 1))" | grep -E 'WARNING:|BUG:|BUG |Oops|general protection|possible circular locking|possible recursive locking|inconsistent lock state|lockdep|suspicious RCU|UBSAN|KASAN|refcount_t:|list_(add|del) corruption|Call Trace'
}

# --- raw_qp in the background ------------------------------------------------------------------

# hold_start FILE ARGS...: starts `raw_qp ARGS hold` and waits until it holds its QPs or exits.
hold_start() {
	HOLD_OUT=$1
	shift
	echo
	echo "\$ raw_qp${*:+ $*} hold &"
	DMESG_MARK=$(dmesg | wc -l)
	raw_qp "$@" hold > "$HOLD_OUT" 2>&1 < /dev/null &
	HOLD_PID=$!
	i=0
	while [ $i -lt 600 ] && kill -0 "$HOLD_PID" 2> /dev/null && ! grep -q '^holding' "$HOLD_OUT"; do
		sleep 0.1
		i=$((i + 1))
	done
	sed 's/^/  /' "$HOLD_OUT"
	cp "$HOLD_OUT" "$OUT"
	HELD=0
	grep -q '^holding' "$HOLD_OUT" && HELD=1
	if kill -0 "$HOLD_PID" 2> /dev/null; then
		echo "  [running as pid $HOLD_PID]"
	else
		wait "$HOLD_PID"
		echo "  [exit status $?]"
		HOLD_PID=
	fi
}

# hold_stop: SIGTERM to the holder (it destroys its objects and exits); RC is its status.
hold_stop() {
	echo
	if [ -z "$HOLD_PID" ]; then
		echo "\$ # no raw_qp is holding QPs"
		RC=1
		: > "$OUT"
		return
	fi
	echo "\$ kill -TERM $HOLD_PID; wait $HOLD_PID   # raw_qp destroys its QPs and exits"
	DMESG_MARK=$(dmesg | wc -l)
	lines=$(wc -l < "$HOLD_OUT")
	kill -TERM "$HOLD_PID"
	wait "$HOLD_PID"
	RC=$?
	HOLD_PID=
	tail -n +"$((lines + 1))" "$HOLD_OUT" > "$OUT"
	sed 's/^/  /' "$OUT"
	echo "  [exit status $RC]"
}

# held -: the last hold_start got its QPs (for checks that mean nothing without them).
held() {
	[ "${HELD:-0}" -eq 1 ] || { echo "raw_qp held no QPs, so this says nothing"; return 1; }
}

# loop_start FILE: starts `raw_qp loop` in the background (LOOP_PID) and waits (up to 60 s) until
# it made its first attempt (it prints the first refusal), so that the changes made next race a
# running loop and its summary counts at least one attempt, however late the process started.
loop_start() {
	echo
	echo "\$ raw_qp loop > $1 &"
	raw_qp loop > "$1" 2>&1 < /dev/null &
	LOOP_PID=$!
	i=0
	while [ $i -lt 600 ] && kill -0 "$LOOP_PID" 2> /dev/null && ! grep -q '^loop: ' "$1"; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q '^loop: ' "$1" || echo "  [raw_qp loop made no attempt in 60 s]"
}

# loop_stop: ends the `raw_qp loop` of loop_start; it prints its summary line on SIGTERM.
loop_stop() {
	kill -TERM "$LOOP_PID"
	wait "$LOOP_PID"
	LOOP_PID=
}

# wait_operstate IF STATE: waits (up to 60 s) until IF's operstate is STATE (carrier events and
# linkwatch come a moment after `ip link set up`).
wait_operstate() {
	i=0
	while [ $i -lt 600 ] && [ "$(cat /sys/class/net/$1/operstate 2> /dev/null)" != "$2" ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# Puts eth0 back down and ends any holder, so that a failed step does not cascade.
reset_state() {
	[ -z "$HOLD_PID" ] || { kill -TERM "$HOLD_PID"; wait "$HOLD_PID"; HOLD_PID=; }
	ip link set dev eth0 down 2> /dev/null
}

link_state() {
	# Admin flags, operstate and carrier counters of $1, one line, for before/after comparisons.
	printf '%s flags=%s operstate=%s carrier_changes=%s\n' "$1" \
		"$(cat /sys/class/net/$1/flags 2> /dev/null)" "$(cat /sys/class/net/$1/operstate 2> /dev/null)" \
		"$(cat /sys/class/net/$1/carrier_changes 2> /dev/null)"
}

same_state() {
	case "$1" in *"flags=0x"*" carrier_changes="[0-9]*) ;; *) echo "no such interface: $1"; return 1 ;; esac
	[ "$1" = "$2" ] || { echo "before: $1"; echo "after:  $2"; return 1; }
}

both_same() {
	same_state "$1" "$2" && same_state "$1" "$3"
}

# The IFF_UP bit of $1's flags (0 when the interface is missing).
is_up() {
	f=$(cat /sys/class/net/$1/flags 2> /dev/null) || return 1
	[ $((f & 1)) -eq 1 ]
}

# --- the scenario --------------------------------------------------------------------------------

if [ "$MODE" = test ]; then
	echo "KTAP version 1"
	echo "1..1"
	echo "    KTAP version 1"
	echo "    # Subtest: mana_rs_e2e"
fi

section "mana-rs end to end, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME") userspace"

section "load the software MANA device and the drivers, as on an Azure VM"
step modprobe mana_gdma sw_adapters=1 sw_ports=2
expect modprobe_mana_gdma "mana_gdma loads with a software adapter of two ports" rc_is 0
step 'grep -h MODALIAS= /sys/bus/auxiliary/devices/*/uevent'
expect aux_devices "mana_gdma offers an auxiliary device per client" \
	both out_has '^MODALIAS=auxiliary:mana_gdma.eth$' out_has '^MODALIAS=auxiliary:mana_gdma.rdma$'
# What udev does on an Azure VM: load the driver of each new device's MODALIAS.
step 'modprobe -a $(sed -n "s/^MODALIAS=//p" /sys/bus/auxiliary/devices/*/uevent)'
expect modprobe_aliases "the modaliases load mana_eth and mana_rdma" rc_is 0
step 'for d in /sys/bus/auxiliary/devices/*; do drv=$(readlink $d/driver); echo "${d##*/} -> ${drv##*/}"; done'
expect drivers_bound "both clients are bound" \
	both out_has '^mana_gdma.eth.0 -> mana_eth' out_has '^mana_gdma.rdma.0 -> mana_rdma'
step 'lsmod | grep -E "^mana_"'
expect lsmod "the three modules are listed" both out_has '^mana_gdma ' out_has '^mana_rdma '

section "the interfaces and the RDMA device"
step ip link show
expect ip_link_eth0 "ip link shows eth0 and eth1" both out_has ': eth0: ' out_has ': eth1: '
step ethtool -i eth0
expect ethtool_driver "ethtool names the driver mana_eth" out_has '^driver: mana_eth'
step ls /sys/class/infiniband/ /sys/class/infiniband_verbs/ /dev/infiniband/
expect uverbs_node "manae_0 has a uverbs device (ib_uverbs binds devices that offer user contexts)" \
	both out_has '^manae_0' out_has '^uverbs0'
step ibv_devices
expect ibv_devices "ibv_devices lists manae_0" out_has 'manae_0'
step ibv_devinfo -d manae_0
expect ibv_devinfo "ibv_devinfo shows manae_0 with its two Ethernet ports" \
	both rc_is 0 out_has 'hca_id:[[:space:]]+manae_0'
step ibv_devinfo -v -d manae_0
expect ibv_devinfo_v "ibv_devinfo -v reports what the C driver reports for a manae device (vendor 0x1414, part 2, 24576 PDs, ack delay 16, one P_Key, MTU 4096, Ethernet)" \
	all_of 'vendor_id:[[:space:]]+0x1414' 'vendor_part_id:[[:space:]]+2$' 'max_pd:[[:space:]]+24576' \
	'local_ca_ack_delay:[[:space:]]+16' 'max_pkeys:[[:space:]]+1$' 'max_mtu:[[:space:]]+4096' \
	'link_layer:[[:space:]]+Ethernet'
step rdma link show
expect rdma_link_netdev "rdma link shows each port's interface: manae_0/1 eth0, manae_0/2 eth1" \
	both out_has '^link manae_0/1 .*netdev eth0( |$)' out_has '^link manae_0/2 .*netdev eth1( |$)'
step 'for l in /sys/class/infiniband/manae_0/device /sys/class/net/eth0/device /sys/class/net/eth1/device; do echo "$l -> $(readlink -f $l)"; done;
	for n in /sys/class/infiniband/manae_0/device/net/*; do [ -e $n ] && echo "${n##*/} dev_port $(cat $n/dev_port) address $(cat $n/address)"; done'
expect dpdk_port_map "DPDK's port lookup works: <ibdev>/device/net/ holds eth0 with dev_port 0 (IB port 1) and eth1 with dev_port 1" \
	both out_has '^eth0 dev_port 0 address ' out_has '^eth1 dev_port 1 address '
step raw_qp -t 0 -r 0 once
expect dpdk_device_check "raw_qp opens manae_0, and DPDK's probe would take it (vendor_part_id, raw_packet_caps)" \
	both rc_is 0 out_has '^check_device as DPDK.s probe: ok'
step cat "$VPORT0"
expect vport_free "vport 0 starts free" owner_is free

section "Ethernet owns the vport: a RAW QP gets EBUSY"
step ip link set dev eth0 up
expect link_up "ip link set eth0 up works" rc_is 0
step cat "$VPORT0"
expect vport_ethernet "debugfs shows the owner: ethernet eth0" owner_is 'ethernet eth0'
step raw_qp once
expect raw_qp_ebusy "raw_qp fails with EBUSY at the first RAW QP" \
	both rc_not 0 out_has '^create_qp tx0: EBUSY'
show_dmesg
expect dmesg_names_netdev "the kernel log names the owner and the remedy" \
	dmesg_has "vport 0 is held by netdev eth0.*ip link set eth0 down"
expect still_up_after_ebusy "eth0 is still up" owner_is 'ethernet eth0'

section "ip link set down: the vport is free, a RAW QP can be created and held"
step ip link set dev eth0 down
expect link_down "ip link set eth0 down works" rc_is 0
step cat "$VPORT0"
expect vport_free_after_down "the vport is free again" owner_is free
hold_start /tmp/hold1.out
expect raw_qp_holds "raw_qp creates its QPs (TX RAW QP, RX WQ and RSS QP) and holds them" \
	file_has /tmp/hold1.out '^holding'
step cat "$VPORT0"
expect vport_rdma "debugfs shows the owner: rdma pd N qps K" owner_is 'rdma pd'
step rdma res show qp
expect rdma_res_qp "rdma res show qp lists the RAW QP (RTS) and the RSS QP (RTR) on port 1, each under its own number" \
	both qps_distinct 2 all_of '^link manae_0/1 lqpn [0-9]+ type RAW_PACKET state RTS .*comm raw_qp' \
	'^link manae_0/1 lqpn [0-9]+ type RAW_PACKET state RTR .*comm raw_qp'
step 'rdma res show cq; rdma res show pd; rdma res show mr; rdma res show'
expect rdma_res_objects "rdma res show cq/pd/mr list raw_qp's objects, and the summary counts them" \
	all_of '^dev manae_0 cqn [0-9]+ cqe [0-9]+ users [0-9]+ .*comm raw_qp' '^dev manae_0 pdn [0-9]+ .*comm raw_qp' \
	'^[0-9]+: manae_0: pd [1-9][0-9]* cq [2-9][0-9]* qp 2 '

section "RDMA owns the vport: ip link set up gets EBUSY"
step ip link set dev eth0 up
expect link_up_ebusy "ip link set eth0 up fails with 'Device or resource busy'" \
	both rc_not 0 out_has 'Device or resource busy'
show_dmesg
expect dmesg_names_rdma "the kernel log names the owner and the remedy" \
	dmesg_has "vport 0 is held by RDMA.*destroy the raw QPs before ip link set eth0 up"
step ip link show dev eth0
expect still_down "eth0 stays down" both rc_is 0 out_lacks '<[^>]*[,<]UP[,>]'
is_up eth0 && ip link set dev eth0 down	# (only when that failed: keep the next steps meaningful)

section "the QPs are destroyed: up works again"
hold_stop
expect raw_qp_destroyed "raw_qp destroys its QPs and exits 0" both rc_is 0 out_has '^hold: done'
step cat "$VPORT0"
expect vport_free_after_destroy "the vport is free" owner_is free
step ip link set dev eth0 up
expect link_up_after_destroy "ip link set eth0 up works" rc_is 0
step ip -o link show dev eth0
expect link_up_state "eth0 is UP" out_has '<[^>]*UP'
step ethtool eth0
expect ethtool_link "ethtool reports the link" out_has 'Link detected: yes'
reset_state

section "ping across the two linked ports of the software adapter, one network namespace each"
step 'ip netns add left && ip netns add right && ip link set dev eth0 netns left && ip link set dev eth1 netns right'
expect netns "each port moves into its own network namespace" rc_is 0
step 'ip -n left addr add 192.0.2.1/24 dev eth0 && ip -n right addr add 192.0.2.2/24 dev eth1 &&
	ip -n left -6 addr add 2001:db8::1/64 dev eth0 nodad && ip -n right -6 addr add 2001:db8::2/64 dev eth1 nodad &&
	ip -n left link set dev lo up && ip -n right link set dev lo up &&
	ip -n left link set dev eth0 up && ip -n right link set dev eth1 up && ip -n left -br addr && ip -n right -br addr'
expect netns_up "both ports are up with an IPv4 and an IPv6 address" rc_is 0
# The carrier comes from the device's link event, a moment after open.
step 'for i in $(seq 120); do
		[ "$(ip netns exec left cat /sys/class/net/eth0/carrier)$(ip netns exec right cat /sys/class/net/eth1/carrier)" = 11 ] && break
		sleep 0.5
	done; ip -n left -o link show dev eth0; ip -n right -o link show dev eth1'
expect netns_carrier "both ports have a carrier" out_lacks 'NO-CARRIER'
step ip netns exec left ping -c 3 -W 5 192.0.2.2
expect ping "ping from eth0 (left) reaches eth1 (right)" both rc_is 0 out_has ' 0% packet loss'
step ip netns exec left ping -6 -c 3 -W 5 2001:db8::2
expect ping6 "ping over IPv6 from eth0 (left) reaches eth1 (right) (neighbour discovery both ways)" \
	both rc_is 0 out_has ' 0% packet loss'

section "XDP attached, replaced and detached, and the private flag set, on the up eth0 while another process loops on RAW QP creation"
# mana_eth swaps the program under the held vport lease (no detach/attach of the port, as C
# does): RDMA gets EBUSY all along, and traffic continues.
loop_start /tmp/xdploop.out
step 'ip -n left link set dev eth0 xdpdrv obj /e2e/xdp_dummy.bpf.o sec xdp && ip -n left -d link show dev eth0 | grep -oE "prog/xdp id [0-9]+|xdp .*"'
expect xdp_attach "an XDP program attaches to the up eth0 in native mode" both rc_is 0 out_has 'prog/xdp id [0-9]'
step ip netns exec left ping -c 3 -W 5 192.0.2.2
expect xdp_ping "ping crosses with the program attached (XDP_PASS)" both rc_is 0 out_has ' 0% packet loss'
step 'ip -n left -force link set dev eth0 xdpdrv obj /e2e/xdp_dummy.bpf.o sec xdp && ip -n left -d link show dev eth0 | grep -oE "prog/xdp id [0-9]+"'
expect xdp_replace "the program is replaced on the up interface" both rc_is 0 out_has 'prog/xdp id [0-9]'
step ip netns exec left ping -c 3 -W 5 192.0.2.2
expect xdp_ping_replaced "ping crosses with the replacement" both rc_is 0 out_has ' 0% packet loss'
step 'ip -n left link set dev eth0 xdpdrv off && ip -n left -d link show dev eth0'
expect xdp_detach "the program is detached and eth0 stays up" both rc_is 0 out_lacks 'prog/xdp'
step ip netns exec left ping -c 3 -W 5 192.0.2.2
expect xdp_ping_detached "ping crosses after the detach" both rc_is 0 out_has ' 0% packet loss'
# The C driver's private flag: one receive buffer per page, which mana_eth's buffers always are;
# kept and reported, nothing rebuilt (the loop above sees no window either way).
step ip netns exec left ethtool --show-priv-flags eth0
expect privflag_default "eth0 has the private flag full-page-rx, off by default" both rc_is 0 out_has '^full-page-rx *: off$'
step 'ip netns exec left ethtool --set-priv-flags eth0 full-page-rx on && ip netns exec left ethtool --show-priv-flags eth0'
expect privflag_on "full-page-rx is set on the up eth0" both rc_is 0 out_has '^full-page-rx *: on$'
step ip netns exec left ping -c 3 -W 5 192.0.2.2
expect privflag_ping "ping crosses with full-page-rx on" both rc_is 0 out_has ' 0% packet loss'
step 'ip netns exec left ethtool --set-priv-flags eth0 full-page-rx off && ip netns exec left ethtool --show-priv-flags eth0'
expect privflag_off "full-page-rx is cleared again" both rc_is 0 out_has '^full-page-rx *: off$'
step 'ip -n left link set dev eth0 mtu 9000 && ip -n left link set dev eth0 xdpdrv obj /e2e/xdp_dummy.bpf.o sec xdp'
expect xdp_mtu_refused "with MTU 9000 the program is refused, with the reason" both rc_not 0 out_has 'MTU too large for XDP'
step ip -n left link set dev eth0 mtu 1500
expect xdp_mtu_back "eth0 takes MTU 1500 again" rc_is 0
loop_stop
step 'cat /tmp/xdploop.out; ip -n left -o link show dev eth0; cat '"$VPORT0"
expect xdp_loop_all_ebusy "every RAW QP creation during the XDP changes got EBUSY, none slipped in" \
	both out_has '^loop: [1-9][0-9]* attempts, 0 created, EBUSY x[1-9][0-9]*$' owner_is 'ethernet eth0'
step ip netns exec left ping -c 3 -W 5 192.0.2.2
expect xdp_ping_after "ping still crosses" both rc_is 0 out_has ' 0% packet loss'

section "TCP across the linked ports, after an MTU change and a channel change"
step 'ip -n left link set dev eth0 mtu 9000 && ip -n right link set dev eth1 mtu 9000 &&
	ip -n left -o link show dev eth0 && ip -n right -o link show dev eth1'
expect mtu_9000 "both up ports take MTU 9000 and stay up" \
	both out_has '^[0-9]+: eth0: <[^>]*UP[^>]*> mtu 9000 ' out_has '^[0-9]+: eth1: <[^>]*UP[^>]*> mtu 9000 '
# The current number of combined channels of eth0 (in namespace left).
CHANNELS=$(ip netns exec left ethtool -l eth0 2> /dev/null | awk '/^Current/ { c = 1 } c && /^Combined:/ { print $2; exit }')
step 'ip netns exec left ethtool -L eth0 combined 3 && ip netns exec right ethtool -L eth1 combined 3 &&
	for p in "left eth0" "right eth1"; do set -- $p; echo "$2: $(ip netns exec $1 ethtool -l $2 | awk "/^Current/ { c = 1 } c && /^Combined:/ { print \$2 }") channels, $(ip -n $1 -o link show dev $2 | grep -o "<[^>]*>")"; done'
expect channels_3 "both up ports change from ${CHANNELS:-?} to 3 channels and stay up" \
	both out_has '^eth0: 3 channels, <[^>]*UP' out_has '^eth1: 3 channels, <[^>]*UP'
# The RSS table a user sets survives a channel change (the C driver keeps it too); fewer
# channels than it uses are refused; `default` spreads it again. A key or table change only
# reprograms the steering (the selftest rss_ctx.py times it).
RSS_QUEUES='ip netns exec left ethtool -x eth0 | grep -E "^ +[0-9]+:" | cut -d: -f2 | tr -s " " "\\n" | grep . | sort -u | tr "\\n" " "'
step "ip netns exec left ethtool -X eth0 weight 1 0 1 && ip netns exec left ethtool -L eth0 combined 4 &&
	echo \"table: \$($RSS_QUEUES)\""
expect rss_table_kept "a table on queues 0 and 2 stays so when eth0 goes to 4 channels" \
	both rc_is 0 out_has '^table: 0 2 $'
step ip netns exec left ethtool -L eth0 combined 2
expect rss_table_guards_queues "2 channels are refused while the table uses queue 2" rc_not 0
step "ip netns exec left ethtool -L eth0 combined 3 && ip netns exec left ethtool -X eth0 default &&
	echo \"table: \$($RSS_QUEUES)\""
expect rss_table_default "3 channels, and the default table spreads over all of them" \
	both rc_is 0 out_has '^table: 0 1 2 $'
step ip netns exec left ping -M do -c 3 -W 5 -s 8000 192.0.2.2
expect ping_jumbo "an 8000-byte ping crosses unfragmented after both changes" \
	both rc_is 0 out_has ' 0% packet loss'
# socat: 4 MB of random bytes each way, the received file compared with the sent one. (timeout
# goes after `ip netns exec`: busybox timeout would run its own `ip` applet.)
step 'head -c 4194304 /dev/urandom > /tmp/tcp.sent &&
	(ip netns exec right timeout 90 socat -u TCP4-LISTEN:5001,reuseaddr OPEN:/tmp/tcp.right,creat,trunc &
	 ip netns exec left timeout 90 socat -u OPEN:/tmp/tcp.sent TCP4:192.0.2.2:5001,retry=120,interval=0.5; echo "sender: exit status $?"; wait) &&
	ls -l /tmp/tcp.right && cmp /tmp/tcp.sent /tmp/tcp.right && echo "received = sent"'
expect tcp_left_to_right "4 MB over TCP from left to right arrive intact" \
	both rc_is 0 out_has '^received = sent$'
step '(ip netns exec left timeout 90 socat -u TCP6-LISTEN:5002,reuseaddr OPEN:/tmp/tcp.left,creat,trunc &
	 ip netns exec right timeout 90 socat -u OPEN:/tmp/tcp.sent TCP6:[2001:db8::1]:5002,retry=120,interval=0.5; echo "sender: exit status $?"; wait) &&
	ls -l /tmp/tcp.left && cmp /tmp/tcp.sent /tmp/tcp.left && echo "received = sent"'
expect tcp6_right_to_left "4 MB over TCP/IPv6 from right to left arrive intact" \
	both rc_is 0 out_has '^received = sent$'
rm -f /tmp/tcp.sent /tmp/tcp.right /tmp/tcp.left
# iperf3: 4 parallel streams (several RX queues, RSS), 8 MB each way.
step 'ip netns exec right iperf3 -s -1 -D -p 5201 &&
	{ i=0; until ip netns exec right ss -Hltn "sport = :5201" | grep -q .; do i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.1; done; } &&
	{ ip netns exec left timeout 120 iperf3 -c 192.0.2.2 -p 5201 -P 4 -n 8M -f m > /tmp/iperf.out 2>&1; rc=$?;
	  grep -E "SUM|error" /tmp/iperf.out; exit $rc; }'
expect iperf3_left_to_right "iperf3 sends 8 MB in 4 streams from left to right" \
	both rc_is 0 out_has 'SUM.* receiver$'
step 'ip netns exec right iperf3 -s -1 -D -p 5202 &&
	{ i=0; until ip netns exec right ss -Hltn "sport = :5202" | grep -q .; do i=$((i + 1)); [ $i -lt 600 ] || break; sleep 0.1; done; } &&
	{ ip netns exec left timeout 120 iperf3 -c 192.0.2.2 -p 5202 -P 4 -n 8M -f m -R > /tmp/iperf.out 2>&1; rc=$?;
	  grep -E "SUM|error" /tmp/iperf.out; exit $rc; }'
expect iperf3_right_to_left "iperf3 sends 8 MB in 4 streams from right to left (-R)" \
	both rc_is 0 out_has 'SUM.* receiver$'
step "ip -n left link set dev eth0 mtu 1500 && ip -n right link set dev eth1 mtu 1500 &&
	ip netns exec left ethtool -L eth0 combined ${CHANNELS:-1} && ip netns exec right ethtool -L eth1 combined ${CHANNELS:-1} &&
	ip netns exec left ping -c 1 -W 5 192.0.2.2"
expect tcp_restore "MTU 1500 and ${CHANNELS:-?} channels again, and the ports still talk" rc_is 0
step 'ip -n left link set dev eth0 down; ip -n right link set dev eth1 down;
	ip -n left link set dev eth0 netns 1 && ip -n right link set dev eth1 netns 1 && ip netns del left && ip netns del right'
expect netns_back "both ports come back to the initial namespace" rc_is 0
ip addr flush dev eth0 2> /dev/null
ip addr flush dev eth1 2> /dev/null

if [ "$MODE" = test ]; then
	section "a RAW QP needs CAP_NET_RAW"
	reset_state
	step setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all raw_qp once
	expect raw_qp_eperm_user "an unprivileged user gets EPERM at the RAW QP" \
		both rc_not 0 out_has '^create_qp tx0: EPERM'
	step setpriv --bounding-set=-net_raw --inh-caps=-net_raw raw_qp once
	expect raw_qp_eperm_root "root without CAP_NET_RAW gets EPERM at the RAW QP" \
		both rc_not 0 out_has '^create_qp tx0: EPERM'
	step cat "$VPORT0"
	expect vport_free_after_eperm "the refused QPs took nothing" owner_is free
	step setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all ip link set dev eth0 up
	expect link_up_eperm_user "and an unprivileged user cannot bring eth0 up either" rc_not 0

	section "rdma link follows the interfaces: rename and network namespace"
	step 'ip link set dev eth1 name mana1 && rdma link show manae_0/2'
	expect rdma_link_rename "after a rename, rdma link shows the new name" out_has 'netdev mana1( |$)'
	step 'ip link set dev mana1 name eth1 && rdma link show manae_0/2'
	expect rdma_link_rename_back "and the old one again" out_has 'netdev eth1( |$)'
	step 'ip netns add fz && ip link set dev eth1 netns fz && ip netns exec fz rdma link show manae_0/2'
	expect rdma_link_netns "in eth1's new namespace, rdma link shows it on manae_0/2" out_has 'netdev eth1( |$)'
	step rdma link show manae_0/2
	expect rdma_link_netns_other "in the initial namespace it is no more shown" both rc_is 0 out_lacks 'netdev'
	step 'ip -n fz link set dev eth1 netns 1 && ip netns del fz && rdma link show manae_0/2'
	expect rdma_link_netns_back "back in the initial namespace: shown again" out_has 'netdev eth1( |$)'
	ip netns del fz 2> /dev/null

	section "RAW QP create/destroy leaves the interface's admin state and carrier alone"
	reset_state
	# eth1 (the other port) stays up throughout: RDMA on port 1 must not touch it either.
	ip link set dev eth1 up
	# Its carrier and operstate settle first (a fixed second was not always enough under load:
	# the late carrier change then showed as a change during the hold).
	wait_operstate eth1 up
	before=$(link_state eth0)
	before1=$(link_state eth1)
	step 'for i in eth0 eth1; do echo "$i: flags $(cat /sys/class/net/$i/flags) operstate $(cat /sys/class/net/$i/operstate) carrier_changes $(cat /sys/class/net/$i/carrier_changes)"; done'
	expect link_state_before "eth0 is there, down; eth1 is up" \
		both out_has '^eth0: flags 0x1002 ' out_has '^eth1: flags 0x1[0-9a-f]*[13579bdf] '
	hold_start /tmp/hold2.out
	expect raw_qp_holds_2 "raw_qp holds its QPs" file_has /tmp/hold2.out '^holding'
	during=$(link_state eth0)
	during1=$(link_state eth1)
	hold_stop
	expect raw_qp_destroyed_2 "raw_qp destroys its QPs" rc_is 0
	sleep 1
	after=$(link_state eth0)
	after1=$(link_state eth1)
	step 'for i in eth0 eth1; do echo "$i: flags $(cat /sys/class/net/$i/flags) operstate $(cat /sys/class/net/$i/operstate) carrier_changes $(cat /sys/class/net/$i/carrier_changes)"; done'
	expect state_during_hold "eth0's admin state and carrier unchanged while RDMA holds the vport" \
		if_held same_state "$before" "$during"
	expect state_after_destroy "eth0's admin state and carrier unchanged after the QPs are destroyed (no flap)" \
		if_held same_state "$before" "$after"
	expect other_port_untouched "eth1 (the other port) unchanged through it all" \
		if_held both_same "$before1" "$during1" "$after1"
	ip link set dev eth1 down
	step ip -o link show dev eth0
	expect still_down_2 "eth0 was not brought up behind the user's back" \
		both rc_is 0 out_lacks '<[^>]*[,<]UP[,>]'

	section "a RAW QP holder killed with SIGKILL: the kernel tears its objects down"
	# What happens to testpmd killed in the middle: the uverbs file is released while the
	# process dies, with SIGKILL pending; every destroy must still reach the device.
	reset_state
	hold_start /tmp/hold_kill.out
	expect raw_qp_holds_kill "raw_qp holds its QPs" file_has /tmp/hold_kill.out '^holding'
	KILL_MARK=$(dmesg | wc -l)
	if [ -n "$HOLD_PID" ]; then
		echo
		echo "\$ kill -KILL $HOLD_PID; wait $HOLD_PID"
		kill -KILL "$HOLD_PID"
		wait "$HOLD_PID"
		echo "  [exit status $?]"
		HOLD_PID=
	fi
	sleep 1
	step "cat $VPORT0; rdma res show; dmesg | tail -n +$((KILL_MARK + 1))"
	expect killed_holder_vport_free "the vport is free after the holder was killed" \
		if_held owner_is free
	expect killed_holder_res_empty "its objects are all gone" \
		if_held out_has '^[0-9]+: manae_0: pd 0 cq 0 qp 0 cm_id 0 mr 0 ctx 0'
	expect killed_holder_clean_teardown "no request of the teardown failed and the device saw no protocol error" \
		if_held out_lacks 'failed|protocol error|ERESTARTSYS|no request is waiting'
	step raw_qp once
	expect killed_holder_raw_qp_once "raw_qp once works after it" rc_is 0

	section "an MTU change on an up interface while another process loops on RAW QP creation"
	reset_state
	step ip link set dev eth0 up
	expect link_up_for_mtu "eth0 is up" rc_is 0
	loop_start /tmp/loop.out
	mtu_ok=0
	up_ok=0
	for i in 1 2 3 4 5; do
		for mtu in 1400 1500; do
			echo "\$ ip link set dev eth0 mtu $mtu"
			ip link set dev eth0 mtu $mtu > /tmp/mtu.out 2>&1 && mtu_ok=$((mtu_ok + 1))
			is_up eth0 && up_ok=$((up_ok + 1)) && echo "  eth0 is up" >> /tmp/mtu.out
			sed 's/^/  /' /tmp/mtu.out
		done
	done
	step "echo \"$mtu_ok of 10 MTU changes succeeded; eth0 was up after $up_ok of them\""
	expect mtu_changes "every MTU change on the up interface succeeds" [ "$mtu_ok" -eq 10 ]
	expect mtu_stays_up "eth0 stays up through every MTU change" [ "$up_ok" -eq 10 ]
	loop_stop
	step 'cat /tmp/loop.out; ip -o link show dev eth0; cat '"$VPORT0"
	expect loop_all_ebusy "every RAW QP creation of the loop got EBUSY, none slipped in" \
		both out_has '^loop: [1-9][0-9]* attempts, 0 created, EBUSY x[1-9][0-9]*$' owner_is 'ethernet eth0'
	expect mtu_final "eth0 is up with MTU 1500" out_has 'UP[^>]*> mtu 1500 '
	reset_state

	section "the device asks for a reset: everything goes down and comes back"
	reset_state
	hold_start /tmp/hold4.out
	expect raw_qp_holds_4 "raw_qp holds its QPs on vport 0" file_has /tmp/hold4.out '^holding'
	step ip link set dev eth1 up
	expect link_up_eth1_before_reset "eth1 is up" rc_is 0
	step "echo 'service 0 reset' > $SW/sw_control; for i in \$(seq 240); do dmesg | grep -q 'reset cycle completed' && break; sleep 0.5; done; dmesg | grep -E 'requested Reset|reset cycle'"
	expect reset_cycle "the driver takes the adapter down and brings it back" \
		both out_has 'reset cycle start' out_has 'reset cycle completed'
	step 'ip -br link show; ls /sys/class/infiniband; cat '"$VPORT0"
	expect reset_interfaces "eth0, eth1 and manae_0 are back, and vport 0 is free" \
		both out_has '^eth1 ' owner_is free
	expect reset_rdma_device "manae_0 is back" out_has '^manae_0'
	step rdma link show
	expect rdma_link_after_reset "the new manae_0's ports show the new interfaces" \
		both out_has '^link manae_0/1 .*netdev eth0( |$)' out_has '^link manae_0/2 .*netdev eth1( |$)'
	hold_stop
	expect raw_qp_after_reset "the process that held QPs through the reset ends without a crash" \
		if_held rc_le 1
	step raw_qp once
	expect raw_qp_after_reset_works "new QPs work on the new adapter" rc_is 0
	step ip link set dev eth0 up
	expect link_up_after_reset "ip link set eth0 up works after the reset" rc_is 0
	step cat "$VPORT0"
	expect vport_ethernet_after_reset "vport 0 belongs to eth0" owner_is 'ethernet eth0'
	step "echo 'service 0 rdma-suspend' > $SW/sw_control; for i in \$(seq 240); do [ -e /sys/class/infiniband/manae_0 ] || break; sleep 0.25; done; ls /sys/class/infiniband; ip -o link show dev eth0"
	expect rdma_suspend "the device suspends RDMA: manae_0 goes, eth0 stays up" \
		both no_ib_device manae_0 out_has '<[^>]*UP'
	step "echo 'service 0 rdma-resume' > $SW/sw_control; for i in \$(seq 240); do [ -e /sys/class/infiniband/manae_0 ] && break; sleep 0.25; done; ls /sys/class/infiniband; cat $VPORT0"
	expect rdma_resume "the device resumes RDMA: manae_0 is back, eth0 still owns vport 0" \
		both out_has '^manae_0' owner_is 'ethernet eth0'
	# manae_0 is in sysfs before its uverbs file: wait (at most 60 s) until user space can open
	# a context on it, and print how long that took.
	step 'i=0; until ibv_devinfo -d manae_0 > /dev/null 2>&1; do i=$((i + 1)); [ $i -lt 240 ] || break; sleep 0.25; done; echo "ibv_devinfo -d manae_0 opened a context after $i retries"; [ $i -lt 240 ]'
	expect rdma_resume_usable "user space can open manae_0 again" rc_is 0
	reset_state

	section "hostile user space: randomized uverbs requests, as root and as an unprivileged user"
	reset_state
	ip link set dev eth1 down
	FUZZ_SEED=$(sed -n 's/.*mana_fuzz_seed=\([0-9]*\).*/\1/p' /proc/cmdline)
	[ -n "$FUZZ_SEED" ] || FUZZ_SEED=$(( $(date +%s) % 1000000007 ))
	[ -e /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak
	# make test: 20 s as root and 10 s unprivileged, with a new seed each run; make test-full
	# (mana_e2e_full=1): 120 s and 60 s.
	FUZZ_ROOT_SECS=20 FUZZ_USER_SECS=10
	if grep -qw mana_e2e_full=1 /proc/cmdline; then FUZZ_ROOT_SECS=120 FUZZ_USER_SECS=60; fi
	FUZZ_MARK=$(dmesg | wc -l)
	FUZZ_START=$(date +%s)
	step uverbs_fuzz -s "$FUZZ_SEED" -t "$FUZZ_ROOT_SECS"
	expect fuzz_root "the fuzzer runs $FUZZ_ROOT_SECS s as root (seed $FUZZ_SEED; replay: MANA_RS_FUZZ_SEED=$FUZZ_SEED make e2e)" \
		both rc_is 0 out_has "^uverbs_fuzz: seed $FUZZ_SEED: [1-9][0-9]* requests"
	# Whatever the root fuzzer left behind, a well-formed GET_CONTEXT is accepted: 200 contexts
	# (more than the device's doorbell pages) opened and closed one after the other, as a user.
	step setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all uverbs_fuzz -s "$FUZZ_SEED" -c 200
	expect fuzz_contexts "after it, 200 well-formed user contexts in a row are all accepted" \
		both rc_is 0 out_has "^uverbs_fuzz: seed $FUZZ_SEED: 200 requests .* 200 ok, errnos:\$"
	step setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all uverbs_fuzz -s "$((FUZZ_SEED + 1))" -t "$FUZZ_USER_SECS"
	expect fuzz_user "and $FUZZ_USER_SECS s as an unprivileged user (seed $((FUZZ_SEED + 1)))" \
		both rc_is 0 out_has "^uverbs_fuzz: seed $((FUZZ_SEED + 1)): [1-9][0-9]* requests"
	FUZZ_SECS=$(( $(date +%s) - FUZZ_START ))
	step "dmesg | tail -n +$((FUZZ_MARK + 1)) | grep -E 'WARNING:|BUG|Oops|lockdep|locking|lock state|RCU|UBSAN|refcount_t|corruption|Call Trace' | head -n 40"
	expect fuzz_no_kernel_warning "no WARNING, BUG or lockdep report from any request" \
		eval '[ -z "$(kernel_problems '"$FUZZ_MARK"')" ]'
	step "echo \"\$(dmesg | tail -n +$((FUZZ_MARK + 1)) | wc -l) kernel log lines in $FUZZ_SECS s of fuzzing; the most frequent:\"; dmesg | tail -n +$((FUZZ_MARK + 1)) | sed 's/^\[[^]]*\] //; s/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -n 12"
	FUZZ_LINES=$(dmesg | tail -n +"$((FUZZ_MARK + 1))" | wc -l)
	expect fuzz_log_rate_limited "the refusals are rate-limited: fewer than 20 kernel log lines per second of fuzzing" \
		[ "$FUZZ_LINES" -lt $(( 20 * (FUZZ_SECS + 1) )) ]
	# The marks above count lines: they only name the fuzzer's lines while the ring has not
	# wrapped (scripts/e2e.sh: log_buf_len).
	step 'dmesg | head -n 1'
	expect fuzz_log_complete "the kernel log still starts at boot: the two checks above read every line since the fuzzer started" \
		out_has '^\[ *0\.0+\] '
	step cat "$VPORT0"
	expect fuzz_vport_free "the vport is free after the fuzzer" owner_is free
	step 'rdma res show'
	expect fuzz_res_empty "the fuzzer's objects are all gone" out_has '^[0-9]+: manae_0: pd 0 cq 0 qp 0 cm_id 0 mr 0 ctx 0'
	step raw_qp once
	expect fuzz_raw_qp_once "raw_qp once works after the fuzzer" rc_is 0
	if [ -e /sys/kernel/debug/kmemleak ]; then
		step 'echo scan > /sys/kernel/debug/kmemleak; sleep 6; echo scan > /sys/kernel/debug/kmemleak;
			grep -c "^unreferenced" /sys/kernel/debug/kmemleak'
		expect fuzz_kmemleak "kmemleak finds no leak from the fuzzing" out_has '^0$'
		[ "$RC" -eq 0 ] && sed -n '1,60p' /sys/kernel/debug/kmemleak | sed 's/^/    # /'
	fi

	section "rmmod with QPs open"
	hold_start /tmp/hold3.out
	expect raw_qp_holds_3 "raw_qp holds its QPs" file_has /tmp/hold3.out '^holding'
	step rmmod mana_rdma
	RMMOD_RC=$RC
	if [ "$RMMOD_RC" -ne 0 ]; then
		expect rmmod_refused "rmmod mana_rdma is refused while QPs are open" \
			if_held out_has 'in use|busy|Busy'
	else
		expect rmmod_handled "rmmod mana_rdma with QPs open: the device goes away" \
			if_held no_ib_device manae_0
		step cat "$VPORT0"
		expect vport_free_on_removal "removing the RDMA device ends its lease at once, before the process exits" \
			if_held owner_is free
	fi
	hold_stop
	expect raw_qp_after_rmmod "raw_qp ends without a crash (exit status 0 or 1)" if_held rc_le 1
	step cat "$VPORT0"
	expect vport_free_after_rmmod "the vport is free" owner_is free
	step 'lsmod | grep -q "^mana_rdma " && rmmod mana_rdma; rmmod mana_eth && rmmod mana_gdma && lsmod'
	expect rmmod_all "then every module unloads" both rc_is 0 out_lacks '^mana_'
	step 'modprobe mana_gdma sw_adapters=1 && modprobe mana_eth && modprobe mana_rdma && ls /sys/class/net /sys/class/infiniband'
	expect reload "and loads again" both rc_is 0 out_has manae_0
	step 'rmmod mana_rdma mana_eth mana_gdma'
	expect rmmod_again "and unloads again" rc_is 0

	section "no leaks"
	if [ -e /sys/kernel/debug/kmemleak ]; then
		# Objects younger than 5 s are not reported: scan, wait, scan again.
		step 'echo scan > /sys/kernel/debug/kmemleak; sleep 6; echo scan > /sys/kernel/debug/kmemleak;
			grep -c "^unreferenced" /sys/kernel/debug/kmemleak'
		expect kmemleak "kmemleak finds no leak" out_has '^0$'
		[ "$RC" -eq 0 ] && sed -n '1,60p' /sys/kernel/debug/kmemleak | sed 's/^/    # /'
	fi

	echo
	echo "# dmesg of the end-to-end guest:"
	dmesg | sed 's/^/# /'
	if [ "$FAILED" -eq 0 ]; then
		echo "ok 1 mana_rs_e2e"
	else
		echo "not ok 1 mana_rs_e2e"
	fi
fi

section "done: $PASSED steps as expected, $FAILED not, $PENDING pending (tests/e2e/pending)"
