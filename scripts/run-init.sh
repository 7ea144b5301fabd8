#!/bin/busybox sh
# /init of the `make run` guest: the mana-rs drivers on software adapters.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug

step() {
	echo
	echo "\$ $*"
	sh -c "$*" 2>&1
	echo "[exit status $?]"
}

echo
echo "=== mana-rs on a software MANA adapter (kernel $(uname -r)) ==="
step 'ls /sys/bus/auxiliary/drivers/'
step 'ls /sys/bus/auxiliary/devices/'
step 'for d in /sys/bus/auxiliary/devices/*; do echo "$(basename $d) -> $(basename $(readlink $d/driver))"; done'
step 'ls /sys/class/net/'
step 'cat /sys/kernel/debug/mana_gdma/sw_control'
step 'cat /sys/kernel/debug/mana_gdma/adapter0/vport0'
step 'ip link set dev eth0 up && ip -o link show dev eth0'
step 'cat /sys/kernel/debug/mana_gdma/adapter0/vport0'
step 'ip link set dev eth0 down && cat /sys/kernel/debug/mana_gdma/adapter0/vport0'
echo
echo "--- a second adapter with two ports, created at run time ---"
step 'echo "add ports=2 mac=00:15:5d:00:10:00" > /sys/kernel/debug/mana_gdma/sw_control'
step 'cat /sys/kernel/debug/mana_gdma/sw_control'
step 'ls /sys/class/net/ /sys/kernel/debug/mana_gdma/'
step 'echo "del 1" > /sys/kernel/debug/mana_gdma/sw_control; ls /sys/class/net/'
step 'echo "add ports=99" > /sys/kernel/debug/mana_gdma/sw_control'
step 'dmesg | grep -E "mana|faux" | sed "s/^\[[^]]*\] //"'
echo
echo "--- the raw-packet RDMA device of each adapter ---"
step 'ls /sys/class/infiniband/'
step 'for p in /sys/class/infiniband/*/ports/*; do [ -e "$p/state" ] && echo "$p: $(cat $p/state) $(cat $p/link_layer)"; done'
echo
echo "=== done ==="
poweroff -f
