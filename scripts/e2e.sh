#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The end-to-end scenario (tests/e2e/scenario.sh) in QEMU (TCG): the module kernel of
# scripts/modules.sh on the Debian root filesystem of scripts/rootfs.sh, plus the modules,
# tests/e2e/raw_qp (compiled here against the same suite's libibverbs-dev) and the scenario.
#
#   e2e.sh run     the transcript on the terminal (`make run`)
#   e2e.sh test    the asserting run, console in $MANA_RS_CACHE/build/e2e/console.log; prints the
#                  console path; scripts/ktap.py reads it (`make e2e`, and `make test` after KUnit)
#   e2e.sh shell   a root shell in the guest, for poking at it by hand
#
# MANA_RS_E2E_TIMEOUT=seconds bounds the boot (default 900). MANA_RS_E2E_STRICT=1 counts the
# cases of tests/e2e/pending as failures when they fail (otherwise: skipped, with the reason).

. "$(dirname "$0")/lib.sh"

mode=${1:-run}
case "$mode" in run | test | shell) ;; *) die "usage: e2e.sh run|test|shell" ;; esac

"$MANA_RS_REPO/scripts/modules.sh"
rootfs=$("$MANA_RS_REPO/scripts/rootfs.sh")
modbuild=$MANA_RS_CACHE/build/modules
release=$(cat "$modbuild/include/config/kernel.release")
out=$MANA_RS_CACHE/build/e2e
mkdir -p "$out"

# raw_qp: host gcc, rdma-core headers and link libraries of the guest's suite. The guest's
# libraries are newer than the host's C library, hence --allow-shlib-undefined: their symbols
# are resolved in the guest, whose glibc is newer than the one raw_qp is linked against.
sdk=$rootfs/sdk
src=$MANA_RS_REPO/tests/e2e/raw_qp.c
if [ ! -x "$out/raw_qp" ] || [ "$src" -nt "$out/raw_qp" ] || [ "$sdk" -nt "$out/raw_qp" ]; then
	info "compiling tests/e2e/raw_qp.c against $(sed -n 's/^libibverbs-dev //p' "$rootfs/manifest" | head -n 1 | sed 's/^/libibverbs-dev /')"
	gcc -O2 -g -Wall -Wextra -Werror -o "$out/raw_qp.tmp" "$src" \
		-idirafter "$sdk/usr/include" -L"$sdk/usr/lib/x86_64-linux-gnu" \
		-Wl,-rpath-link,"$sdk/usr/lib/x86_64-linux-gnu" -Wl,--allow-shlib-undefined \
		-libverbs -lmana || die "tests/e2e/raw_qp.c did not compile"
	mv "$out/raw_qp.tmp" "$out/raw_qp"
fi

# The overlay: appended to the cached base archive (the kernel unpacks concatenated archives).
ov=$out/overlay
rm -rf "$ov"
mkdir -p "$ov/e2e" "$ov/usr/local/bin" "$ov/usr/lib/modules"
install -m 755 "$MANA_RS_REPO/tests/e2e/init.sh" "$ov/init"
install -m 755 "$MANA_RS_REPO/tests/e2e/scenario.sh" "$ov/e2e/scenario.sh"
install -m 644 "$MANA_RS_REPO/tests/e2e/pending" "$ov/e2e/pending"
install -m 755 "$out/raw_qp" "$ov/usr/local/bin/raw_qp"
cp -a "$modbuild/modroot/lib/modules/$release" "$ov/usr/lib/modules/"
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$out/overlay.cpio.gz"
cat "$rootfs/base.cpio.gz" "$out/overlay.cpio.gz" > "$out/initramfs.cpio.gz"

bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios qboot.rom)
qemu=(qemu-system-x86_64 -nodefaults -nographic -no-reboot -accel tcg -cpu max -smp 2 -m 2048
	"${bios[@]}" -kernel "$modbuild/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio.gz"
	-monitor none)
cmdline="console=ttyS0 panic=-1 loglevel=4 mana_e2e=$mode"
[ "${MANA_RS_E2E_STRICT:-0}" = 0 ] || cmdline="$cmdline mana_e2e_strict=1"
timeout_s=${MANA_RS_E2E_TIMEOUT:-900}

case "$mode" in
run)
	info "booting the module kernel $release (TCG); the guest powers off when the scenario ends"
	timeout --foreground "$timeout_s" "${qemu[@]}" -append "$cmdline" -serial stdio < /dev/null | tr -d '\r'
	;;
shell)
	"${qemu[@]}" -append "$cmdline" -serial mon:stdio
	;;
test)
	console=$out/console.log
	info "booting the module kernel $release for the end-to-end test (TCG; console: $console)"
	start=$(date +%s)
	set +e
	timeout --foreground "$timeout_s" "${qemu[@]}" -append "$cmdline" -serial file:"$console" < /dev/null
	rc=$?
	set -e
	info "end-to-end guest ran $(( $(date +%s) - start )) s"
	[ $rc -ne 124 ] || echo "error: the end-to-end guest timed out after $timeout_s s (MANA_RS_E2E_TIMEOUT)" >> "$console"
	echo "$console"
	;;
esac
