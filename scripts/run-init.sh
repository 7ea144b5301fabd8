#!/bin/busybox sh
# /init of the `make run` guest: shows the mana-rs drivers on a software adapter.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

step() {
	echo
	echo "\$ $*"
	sh -c "$*"
}

echo
echo "=== mana-rs on a software MANA adapter (kernel $(uname -r)) ==="
step 'ls -d /sys/module/mana_*'
step 'ls /sys/bus/auxiliary/devices/'
step 'for d in /sys/bus/auxiliary/devices/*; do echo "$(basename $d) -> $(basename $(readlink $d/driver))"; done'
step 'ls /sys/bus/auxiliary/drivers/'
step 'dmesg | grep -E "mana|faux" | sed "s/^\[[^]]*\] //"'
echo
echo "=== done ==="
poweroff -f
