#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the test guest (scripts/e2e.sh): mounts the usual file systems and runs
# /e2e/scenario.sh, the KUnit runner /kunit/run.sh or the selftests runner /selftests/run.py in the
# mode the kernel command line names (mana_e2e=run|test|kunit|selftests|shell), then powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2> /dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/netns /dev/pts
chown 1000:1000 /home/user	# the archive is all root's (it is built without root)
hostname -F /etc/hostname
ip link set lo up
mode=run
for arg in $(cat /proc/cmdline); do
	case "$arg" in mana_e2e=*) mode=${arg#mana_e2e=} ;; esac
done
cd /root
if [ "$mode" = shell ]; then
	setsid sh -c 'exec sh < /dev/ttyS0 > /dev/ttyS0 2>&1'
elif [ "$mode" = kunit ]; then
	sh /kunit/run.sh
elif [ "$mode" = selftests ]; then
	python3 /selftests/run.py
else
	sh /e2e/scenario.sh "$mode"
fi
sync
busybox poweroff -f
