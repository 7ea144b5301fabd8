#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boots the mana-rs kernel in QEMU (TCG) with a small busybox userspace, creates a software
# MANA adapter and shows the drivers bound to it. The kernel is the KUnit kernel of
# `make test` (drivers built in); KUnit is switched off for this boot. This is `make demo`;
# `make run` walks the end-to-end scenario instead (scripts/e2e.sh).

. "$(dirname "$0")/lib.sh"

build=$MANA_RS_CACHE/build/kunit
run=$MANA_RS_CACHE/run
mkdir -p "$run"

# Build (or reuse) the kernel: the same build `make test` uses, without booting the tests.
MANA_RS_BUILD_ONLY=1 "$MANA_RS_REPO/scripts/kunit.sh"

busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox not found: install the Debian package busybox-static"

root=$run/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp}
cp "$busybox" "$root/bin/busybox"
cp "$MANA_RS_REPO/scripts/run-init.sh" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$run/initramfs.cpio.gz"

bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios qboot.rom)
info "booting (TCG); the guest powers off when the walk-through ends"
timeout --foreground "${MANA_RS_RUN_TIMEOUT:-300}" qemu-system-x86_64 -nodefaults -nographic -no-reboot \
	-accel tcg -cpu max -smp 2 -m 1024 "${bios[@]}" \
	-kernel "$build/arch/x86/boot/bzImage" -initrd "$run/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet kunit.enable=0 panic=-1 mana_gdma.sw_adapters=1" \
	-serial stdio -monitor none < /dev/null | tr -d '\r'
