#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the guest of scripts/bench-pci.sh: the same work through the upstream C driver
# (mana) and through mana-rs (mana_gdma, mana_eth) on the emulated MANA function, each after a
# function level reset. Per driver: the time to bring up one port with as many queues as the
# guest has CPUs (at most 16), the ping round trip between the two linked ports (median and
# 99th percentile of 200 pings), and the kernel's packet generator (pktgen) sending 64- and
# 1500-byte UDP frames from one port to the other: frames per second received, and CPU time
# per frame. Prints "bench: DRIVER METRIC VALUE" lines; figures, not checks.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2> /dev/null
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/netns /tmp
ip link set lo up

count=${MANA_BENCH_COUNT:-}
for arg in $(cat /proc/cmdline); do
	case $arg in
	mana_bench_count=*) count=${arg#mana_bench_count=} ;;
	esac
done
count=${count:-20000}

finish() {
	echo "mana-bench: done"
	sync
	busybox poweroff -f
}

dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1414 ] && dev=$d && break
done
[ -n "$dev" ] || { echo "bench: no MANA function"; finish; }
slot=${dev##*/}
cpus=$(nproc)
echo "# guest: $(uname -r), $cpus CPUs, $count frames per pktgen run"

ifaces() {
	for i in /sys/class/net/*; do
		case $(readlink -f "$i/device") in
		*/"$slot" | */"$slot"/*) echo "$(cat "$i/ifindex") ${i##*/}" ;;
		esac
	done | sort -n | while read -r _ name; do echo "$name"; done
}
wait_ifaces() {
	for _ in $(seq 150); do
		[ "$(ifaces | wc -l)" -ge 2 ] && return 0
		sleep 0.2
	done
	return 1
}
# Runs the command and prints how long it took, in microseconds (busybox date has no %N).
time_us() {
	python3 -c 'import subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], check=False)
print(int((time.monotonic() - t) * 1e6))' "$@"
}
# Busy jiffies of all CPUs (user, nice, system, irq, softirq).
busy() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# $1: driver name for the report; $2: load command; $3: unload command.
bench() {
	who=$1
	echo 1 > "$dev/reset"
	sh -c "$2" || { echo "bench: $who load failed"; return; }
	wait_ifaces || { echo "bench: $who no interfaces"; sh -c "$3"; return; }
	set -- $(ifaces) "$3"
	a=$1 b=$2 unload=$3
	# Bring-up with all queues: the interface's maximum (the guest's CPUs, at most 16).
	max=$(ethtool -l "$a" | awk '/^Combined:/ { print $2; exit }')
	queues=$((max < 16 ? max : 16))
	ethtool -L "$a" combined "$queues" 2> /dev/null
	echo "bench: $who up_us_${queues}q $(time_us ip link set "$a" up)"
	ip link set "$a" down

	ip netns add ba && ip netns add bb
	ip link set "$a" netns ba && ip link set "$b" netns bb
	ip -n ba addr add 192.0.2.1/24 dev "$a"
	ip -n bb addr add 192.0.2.2/24 dev "$b"
	ip -n ba link set "$a" up
	ip -n bb link set "$b" up
	ip netns exec ba ping -c 3 -W 5 192.0.2.2 > /dev/null 2>&1
	ip netns exec ba ping -c 200 -i 0.01 -W 2 192.0.2.2 2> /dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n > /tmp/rtt
	n=$(wc -l < /tmp/rtt)
	if [ "$n" -gt 0 ]; then
		echo "bench: $who ping_median_us $(awk -v n="$n" 'NR == int((n + 1) / 2) { printf "%d", $1 * 1000 }' /tmp/rtt)"
		echo "bench: $who ping_p99_us $(awk -v n="$n" 'NR == int((n * 99 + 99) / 100) { printf "%d", $1 * 1000 }' /tmp/rtt)"
	fi

	mac=$(ip netns exec bb cat "/sys/class/net/$b/address")
	for size in 64 1500; do
		ip netns exec ba sh -c "
			echo rem_device_all > /proc/net/pktgen/kpktgend_0
			echo 'add_device $a' > /proc/net/pktgen/kpktgend_0
			p=/proc/net/pktgen/$a
			echo 'count $count' > \$p
			echo 'pkt_size $((size - 4))' > \$p
			echo 'delay 0' > \$p
			echo 'clone_skb 0' > \$p
			echo 'dst 192.0.2.2' > \$p
			echo 'dst_mac $mac' > \$p
			echo 'udp_dst_min 9' > \$p
			echo 'udp_dst_max 9' > \$p"
		rx0=$(ip netns exec bb cat "/sys/class/net/$b/statistics/rx_packets")
		c0=$(busy)
		# pktgen returns when it has sent them all; then the receiver drains.
		secs_us=$(time_us ip netns exec ba sh -c 'echo start > /proc/net/pktgen/pgctrl')
		sleep 1
		c1=$(busy)
		rx1=$(ip netns exec bb cat "/sys/class/net/$b/statistics/rx_packets")
		got=$((rx1 - rx0))
		[ "${secs_us:-0}" -gt 0 ] || secs_us=1
		echo "bench: $who pps_$size $((got * 1000000 / secs_us))"
		echo "bench: $who received_$size $got"
		# CPU time per frame: busy jiffies (10 ms at HZ=100, 4 ms at 250: from USER_HZ=100).
		[ "$got" -gt 0 ] && echo "bench: $who cpu_ns_per_pkt_$size $(((c1 - c0) * 10000000 / got))"
	done
	ip -n ba link set "$a" down
	ip -n bb link set "$b" down
	ip -n ba link set "$a" netns 1
	ip -n bb link set "$b" netns 1
	ip netns del ba
	ip netns del bb
	sh -c "$unload"
}

modprobe pktgen || echo "bench: no pktgen module"
bench c "modprobe mana" "rmmod mana"
bench rs "modprobe mana_gdma && modprobe mana_eth" "rmmod mana_eth mana_gdma"
finish
