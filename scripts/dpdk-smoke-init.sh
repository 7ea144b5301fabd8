#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the DPDK guest (scripts/dpdk-smoke.sh; the root filesystem of tests/dpdk/rootfs.list:
# DPDK 24.11's dpdk-testpmd and MANA PMD over rdma-core): brings up mana-rs on the emulated MANA
# VF (mana_gdma by the function's PCI modalias, mana_eth and mana_rdma by their auxiliary
# modaliases), then runs the seed scenario with DPDK itself on port 1 (the interface with
# dev_port 0, "A"), whose vport is linked to port 2 ("B", moved into the namespace "peer" as the
# kernel interface that counts and sends):
#   - testpmd cannot start its port while A is up; the kernel log names the owner and remedy;
#   - A down: testpmd sends N frames (the txonly engine) that B receives, and receives N
#     frames that B sends (rxonly), each counted on both sides; meanwhile `ip link set A up`
#     fails with EBUSY; testpmd quits;
#   - A comes up and pings B;
#   - testpmd killed with SIGKILL in the middle of sending leaves the vport free;
#   - the drivers unload, kmemleak finds nothing, no WARN/BUG/lockdep report.
# One line per check, "ok N - ..." or "not ok N - ...", read by scripts/dpdk-smoke.sh; figures
# as "# " comments; then powers off.
#
# Kernel command line: mana_dpdk_frames=N (frames each way, default 64); mana_dpdk_driver=rs|c
# (mana-rs, the default, or the upstream C drivers mana and mana_ib, loaded by name, for
# comparison: the checks of mana-rs's log lines are skipped for them).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# A testpmd that exited early must not take this shell with it when a command goes to its FIFO.
trap '' PIPE
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2> /dev/null
mount -t tmpfs -o mode=755 tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /run/netns /tmp /var/run/dpdk
ip link set lo up

frames=64
driver=rs
for arg in $(cat /proc/cmdline); do
	case $arg in
	mana_dpdk_frames=*) frames=${arg#mana_dpdk_frames=} ;;
	mana_dpdk_driver=*) driver=${arg#mana_dpdk_driver=} ;;
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
	echo "mana-dpdk-smoke: done"
	sync
	busybox poweroff -f
}
now() {
	cut -d' ' -f1 /proc/uptime
}
# Kernel log lines of the MANA drivers since the last call, as comments.
show_log() {
	dmesg -c | grep -E 'mana|gdma|infiniband|uverbs' | sed 's/^/# dmesg: /'
}

dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1414 ] && dev=$d && break
done
check "a PCI function of vendor 1414 is present" [ -n "$dev" ]
[ -n "$dev" ] || finish
slot=${dev##*/}
dmesg -c > /dev/null
[ -e /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak

if [ "$driver" = c ]; then
	# The C drivers by name (they are blacklisted for modalias loading).
	check "modprobe mana mana_ib (the upstream C drivers)" \
		sh -c "modprobe mana && modprobe mana_ib && [ -d /sys/module/mana ] && [ -d /sys/module/mana_ib ]"
	modules="mana_ib mana"
else
	# mana-rs as udev loads it on Azure.
	modalias=$(cat "$dev/modalias")
	check "modprobe of the function's modalias loads mana_gdma" \
		sh -c "modprobe -a '$modalias' && [ -d /sys/module/mana_gdma ]"
	aux=$(for a in /sys/bus/auxiliary/devices/*; do
		case $(readlink -f "$a") in */"$slot"/*) sed -n 's/^MODALIAS=//p' "$a/uevent" ;; esac
	done | sort -u)
	check "the auxiliary modaliases load mana_eth and mana_rdma" \
		sh -c "modprobe -a $(echo $aux) && [ -d /sys/module/mana_eth ] && [ -d /sys/module/mana_rdma ]"
	modules="mana_rdma mana_eth mana_gdma"
fi

# The interfaces of the function by dev_port (IB port N is dev_port N-1, as the PMD maps them).
port_iface() {
	for i in /sys/class/net/*; do
		case $(readlink -f "$i/device") in
		*/"$slot") [ "$(cat "$i/dev_port")" = "$1" ] && echo "${i##*/}" ;;
		esac
	done
}
for _ in $(seq 100); do
	[ -n "$(port_iface 0)" ] && [ -n "$(port_iface 1)" ] && break
	sleep 0.2
done
a=$(port_iface 0)
b=$(port_iface 1)
check "two interfaces on the PCI function (dev_port 0: '$a', 1: '$b')" [ -n "$a" -a -n "$b" ]
ibdev=
for i in /sys/class/infiniband/*; do
	[ "$(basename "$(readlink -f "$i/device")")" = "$slot" ] && ibdev=${i##*/}
done
check "an RDMA device on the same PCI function ('$ibdev')" [ -n "$ibdev" ]
show_log
[ -n "$a" ] && [ -n "$b" ] && [ -n "$ibdev" ] || finish
mac_a=$(cat "/sys/class/net/$a/address")
mac_b=$(cat "/sys/class/net/$b/address")
echo "# port 1: $a $mac_a; port 2: $b $mac_b; $ibdev on $slot"
ibv_devinfo -d "$ibdev" 2>&1 | sed 's/^/# ibv_devinfo: /' | head -n 20

# B is the kernel's end of the link, in its own namespace, without IPv6 (no router or neighbour
# solicitations to count).
ip netns add peer
ip link set "$b" netns peer
ip netns exec peer sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec peer sysctl -qw "net.ipv6.conf.$b.disable_ipv6=1"
ip -n peer addr add 192.0.2.2/24 dev "$b"
ip -n peer link set "$b" up
peer_rx() {
	ip netns exec peer cat "/sys/class/net/$b/statistics/rx_packets"
}
peer_tx() {
	ip netns exec peer cat "/sys/class/net/$b/statistics/tx_packets"
}

# testpmd, interactive, its commands from a FIFO: port 1 only (the PMD probes the ports whose
# MAC is given), one queue each way, memory without hugepages.
testpmd_start() {
	rm -f /tmp/tp.in
	mkfifo /tmp/tp.in
	# -l 0-1: the main lcore and one forwarding lcore.
	dpdk-testpmd -l 0-1 -n 1 --no-huge -m 256 -a "$slot,mac=$mac_a" \
		--log-level=pmd.net.mana.*:info -- -i --total-num-mbufs=2048 --rxq=1 --txq=1 \
		--nb-cores=1 --burst=32 --eth-peer="0,$mac_b" "$@" \
		< /tmp/tp.in > /tmp/tp.out 2>&1 &
	tp_pid=$!
	# Hold the FIFO open: testpmd reads commands until "quit".
	exec 7> /tmp/tp.in
}
# The prompts testpmd printed (its command line writes one after each command, unbuffered;
# the rest of its output is buffered until it exits).
tp_prompts() {
	grep -o 'testpmd> ' /tmp/tp.out | wc -l
}
# Waits up to $2 s for testpmd to have printed $1 prompts; fails if it exited.
tp_wait_prompts() {
	t=0
	while [ "$(tp_prompts)" -lt "$1" ]; do
		kill -0 "$tp_pid" 2> /dev/null || return 1
		[ "$t" -lt "$(($2 * 5))" ] || return 1
		sleep 0.2
		t=$((t + 1))
	done
}
# Runs testpmd command $1 and waits up to $2 s (default 60) for it to finish.
tp() {
	before=$(tp_prompts)
	echo "$1" >&7
	tp_wait_prompts $((before + 1)) "${2:-60}"
}
# Ends testpmd: "quit", then waits up to $1 s for it to exit.
testpmd_quit() {
	echo quit >&7
	exec 7>&-
	t=0
	while kill -0 "$tp_pid" 2> /dev/null && [ "$t" -lt "$(($1 * 5))" ]; do
		sleep 0.2
		t=$((t + 1))
	done
	if kill -0 "$tp_pid" 2> /dev/null; then
		echo "# testpmd did not quit within $1 s: killed"
		kill -KILL "$tp_pid"
		wait "$tp_pid"
		return 1
	fi
	wait "$tp_pid"
}
show_tp() {
	sed "s/^/# testpmd$1: /" /tmp/tp.out | tr -d '\r' | grep -v '^# testpmd[^:]*: *$' | head -n "${2:-40}"
}
# The number after "$1" in the last statistics block testpmd printed ("TX-packets: 64 ...").
tp_stat() {
	tr -d '\r' < /tmp/tp.out | sed -n "s/.*$1: *\([0-9]*\).*/\1/p" | tail -n 1
}

# 1. A up: the vport is the kernel's; testpmd's port cannot start.
ip link set "$a" up
dmesg -c > /dev/null
t0=$(now)
testpmd_start
tp_wait_prompts 1 600
echo "# testpmd took $(echo "$(now) $t0" | awk '{ print $1 - $2 }') s to its prompt"
testpmd_quit 60
dmesg -c > /tmp/owner.log
show_tp " (A up)" 80
sed 's/^/# dmesg: /' /tmp/owner.log
check "with $a up, testpmd cannot start its port" \
	grep -qE 'Fail to start port|Start ports failed' /tmp/tp.out
[ "$driver" = c ] || check "the kernel log names the owner ($a) and the remedy" \
	grep -q "is held by netdev $a.*ip link set $a down" /tmp/owner.log

# 2. A down: testpmd owns the vport.
# B's side, in Python (AF_PACKET): capture.py counts the frames from A's MAC (and how many of
# them are IPv4/UDP, what the txonly engine sends) until it has $3 or 120 s passed; send.py
# sends frames.
cat > /tmp/capture.py << 'EOF'
import socket, sys, time
ifname, src, want = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
# Room for every frame: each one arrives in a page-sized buffer, and the default receive
# buffer holds fewer than 64 of those (SO_RCVBUFFORCE, 33: root may exceed rmem_max).
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 24)
s.bind((ifname, 0))
s.settimeout(1)
open('/tmp/capture.ready', 'w').close()
n = udp = 0
end = time.time() + 120
while n < want and time.time() < end:
    try:
        f = s.recv(4096)
    except socket.timeout:
        continue
    if f[6:12] == src:
        n += 1
        udp += f[12:14] == b'\x08\x00' and f[23] == 17
print(n, udp)
EOF
cat > /tmp/send.py << 'EOF'
import socket, sys
ifname, dst, src, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
# An ethertype for local experiments (0x88b5), padded to the 60-byte minimum.
frame = bytes.fromhex(dst.replace(':', '') + src.replace(':', '')) + b'\x88\xb5' + bytes(46)
for i in range(count):
    s.send(frame)
EOF
ip link set "$a" down
# N frames: the txonly engine's first bursts (32 frames each), then receive only.
bursts=$(((frames + 31) / 32))
sent=$((bursts * 32))
testpmd_start
tp_wait_prompts 1 600
tp "set fwd rxonly"
rm -f /tmp/capture.ready
ip netns exec peer python3 /tmp/capture.py "$b" "$mac_a" "$sent" > /tmp/capture 2>&1 &
cap_pid=$!
for _ in $(seq 300); do
	[ -e /tmp/capture.ready ] && break
	sleep 0.2
done
rx0=$(peer_rx)
check "testpmd start tx_first $bursts (sends $sent frames, then receives)" tp "start tx_first $bursts" 120
wait "$cap_pid"
set -- $(cat /tmp/capture) x x
got=$(($(peer_rx) - rx0))
echo "# $b received $got frames, $1 from $mac_a ($2 of them IPv4/UDP), of the $sent testpmd sent"
check "testpmd sends $sent frames that arrive on $b in the other namespace (its rx_packets)" eq "$got" "$sent"
check "they are testpmd's: $sent IPv4/UDP frames from $mac_a" eq "$1 $2" "$sent $sent"

# While testpmd runs, the interface cannot come up.
ip link set "$a" up 2> /tmp/up
up_rc=$?
dmesg -c > /tmp/owner.log
sed 's/^/# ip: /' /tmp/up
sed 's/^/# dmesg: /' /tmp/owner.log
check "while testpmd runs, ip link set $a up fails with EBUSY" \
	sh -c "[ $up_rc -ne 0 ] && grep -q 'Device or resource busy' /tmp/up"
[ "$driver" = c ] || check "the kernel log names the owner (RDMA) and the remedy" \
	grep -q "is held by RDMA.*destroy the raw QPs before ip link set $a up" /tmp/owner.log
[ "$up_rc" -ne 0 ] || ip link set "$a" down

# B sends N frames to A's MAC; testpmd (rxonly) counts them.
tx0=$(peer_tx)
ip netns exec peer python3 /tmp/send.py "$b" "$mac_a" "$mac_b" "$frames"
echo "# $b sent $(($(peer_tx) - tx0)) frames"
sleep 3
tp "stop" 120
t0=$(now)
check "testpmd quits" testpmd_quit 120
echo "# testpmd took $(echo "$(now) $t0" | awk '{ print $1 - $2 }') s to quit"
show_tp " (A down)" 120
show_log
# Its output, complete now that it exited.
check "with $a down, testpmd started its port" \
	sh -c "! grep -qE 'Fail to start port|Start ports failed' /tmp/tp.out && grep -qi '^Port 0: $mac_a' /tmp/tp.out"
tx_stat=$(tp_stat TX-packets)
rx_stat=$(tp_stat RX-packets)
# The PMD counts a sent frame when it reaps its completion, in a later transmit burst: rxonly
# never transmits again, so the last burst is not counted.
echo "# testpmd's totals: TX-packets $tx_stat (completions reaped), RX-packets $rx_stat"
check "testpmd (rxonly) receives the $frames frames $b sent" eq "$rx_stat" "$frames"

# 3. The kernel has its interface back.
ip netns add own
ip link set "$a" netns own
ip -n own addr add 192.0.2.1/24 dev "$a"
check "after testpmd, ip link set $a up works" ip -n own link set "$a" up
ip netns exec own ping -c 3 -i 0.2 -W 5 192.0.2.2 > /tmp/ping 2>&1
check "$a pings $b across the linked ports" grep -q ' 0% packet loss' /tmp/ping
sed 's/^/# /' /tmp/ping | tail -n 2
ip -n own link set "$a" down
ip -n own link set "$a" netns 1
ip netns del own

# 4. SIGKILL in the middle of sending: the process's verbs objects go with its file, the vport
# is free again.
rx0=$(peer_rx)
testpmd_start
tp_wait_prompts 1 600
tp "set fwd txonly"
tp "start"
t=0
while [ "$(($(peer_rx) - rx0))" -lt 32 ] && [ $t -lt 300 ]; do
	sleep 0.2
	t=$((t + 1))
done
check "testpmd (txonly) is sending" [ "$(($(peer_rx) - rx0))" -ge 32 ]
kill -KILL "$tp_pid"
wait "$tp_pid" 2> /dev/null
exec 7>&-
echo "# $b received $(($(peer_rx) - rx0)) frames before the SIGKILL"
ok=1
for _ in $(seq 50); do
	ip link set "$a" up 2> /dev/null && ok=0 && break
	sleep 0.2
done
check "after SIGKILL, the vport is free: ip link set $a up works" [ $ok = 0 ]
ip link set "$a" down
show_log

# 5. Teardown.
ip -n peer link set "$b" down
ip -n peer link set "$b" netns 1
ip netns del peer
check "rmmod $modules" rmmod $modules
show_log
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	check "kmemleak finds no leak" eq "$(grep -c '^unreferenced' /sys/kernel/debug/kmemleak)" 0
	sed -n '1,40p' /sys/kernel/debug/kmemleak | sed 's/^/# /'
fi
check "no warning, BUG or lockdep report in the kernel log" \
	sh -c "! dmesg | grep -qE 'WARNING:|BUG:|possible circular locking|inconsistent lock state|Oops'"
finish
