#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Boots the one test kernel of scripts/kernel.sh in QEMU (TCG, SMP) on the Debian root filesystem
# of scripts/rootfs.sh, plus the modules, tests/e2e/raw_qp (compiled here against the same
# suite's libibverbs-dev), the end-to-end scenario and the KUnit runner.
#
#   e2e.sh run     the end-to-end transcript on the terminal (`make run`)
#   e2e.sh test    the asserting end-to-end run (tests/e2e/scenario.sh), console in
#                  $MANA_RS_CACHE/build/e2e/console.log; prints the console path; scripts/ktap.py
#                  reads it (`make e2e`, and `make test` after KUnit)
#   e2e.sh kunit   the KUnit suites (tests/kunit/run.sh), console in
#                  $MANA_RS_CACHE/build/e2e/kunit-console.log; prints the console path
#   e2e.sh selftests  the kernel's driver selftests (tools/testing/selftests/drivers/net and
#                  drivers/net/hw of the same tree) against eth0, eth1 in a namespace as the remote,
#                  judged against tests/selftests/expected by tests/selftests/run.py; console in
#                  $MANA_RS_CACHE/build/e2e/selftests-console.log; prints the console path
#                  (`make selftests`, and `make test` after the end-to-end scenario)
#   e2e.sh shell   a root shell in the guest, for poking at it by hand (the selftests are in
#                  /ksrc; `python3 /selftests/run.py --setup` prepares the interfaces)
#   e2e.sh prepare builds what the boots share (the root filesystem, raw_qp, uverbs_fuzz, the
#                  selftests' helpers) and boots nothing: scripts/kunit.sh runs it once before it
#                  boots several guests side by side. Each mode has its own overlay and initramfs
#                  (build/e2e/overlay-<mode>, initramfs-<mode>.cpio.gz), so boots of different
#                  modes can run at the same time.
#
# While a test boot runs, each KUnit suite and each scenario section is printed as it starts.
# MANA_RS_E2E_TIMEOUT / MANA_RS_KUNIT_TIMEOUT / MANA_RS_SELFTESTS_TIMEOUT = seconds bound the
# boot (default 2400, 2400, 3600: a loaded machine slows TCG several times);
# MANA_RS_GUEST_STALL = seconds without console output after which a guest counts as hung and is
# stopped (default 600).
# MANA_RS_SELFTESTS_FULL=1 runs every selftest file and case of tests/selftests/expected, not
# only the quick set. MANA_RS_SELFTESTS_ONLY='FILE...' (e.g. 'ring_reconfig.py hw/csum.py') runs
# only these files, with all their cases; MANA_RS_SELFTESTS_REPEAT=N runs the files N times in a
# row (to measure an intermittent failure: each round is judged, the rounds are numbered).
# MANA_RS_E2E_STRICT=1 counts the cases of tests/e2e/pending as failures when they fail
# (otherwise: skipped, with the reason). MANA_RS_KUNIT_FILTER=GLOB runs only the matching suites;
# MANA_RS_KUNIT_FULL=1 adds the long versions (*_slow).

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs (a long test boot) cannot change what the running copy does.
{

mode=${1:-run}
case "$mode" in run | test | kunit | selftests | shell | prepare) ;; *) die "usage: e2e.sh run|test|kunit|selftests|shell|prepare" ;; esac

# scripts/kunit.sh builds the kernel once for all its stages and says so.
[ "${MANA_RS_KERNEL_BUILT:-0}" = 1 ] || "$MANA_RS_REPO/scripts/kernel.sh"
rootfs=$("$MANA_RS_REPO/scripts/rootfs.sh")
modbuild=$MANA_RS_CACHE/build/kernel
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
# uverbs_fuzz: the same way, with the kernel's own uAPI headers (include/uapi/rdma: the uverbs
# commands and mana-abi.h) ahead of the host's.
fsrc=$MANA_RS_REPO/tests/e2e/uverbs_fuzz.c
mkdir -p "$out/uapi"
ln -sfn "$(kernel_tree)/include/uapi/rdma" "$out/uapi/rdma"
if [ ! -x "$out/uverbs_fuzz" ] || [ "$fsrc" -nt "$out/uverbs_fuzz" ] || [ "$sdk" -nt "$out/uverbs_fuzz" ]; then
	info "compiling tests/e2e/uverbs_fuzz.c against the kernel's uAPI headers and libibverbs"
	gcc -O2 -g -Wall -Wextra -Werror -o "$out/uverbs_fuzz.tmp" "$fsrc" -I "$out/uapi" \
		-idirafter "$sdk/usr/include" -L"$sdk/usr/lib/x86_64-linux-gnu" \
		-Wl,-rpath-link,"$sdk/usr/lib/x86_64-linux-gnu" -Wl,--allow-shlib-undefined \
		-libverbs || die "tests/e2e/uverbs_fuzz.c did not compile"
	mv "$out/uverbs_fuzz.tmp" "$out/uverbs_fuzz"
fi

# The kernel tree's UAPI headers (`make headers` in build/selftests/hdr), for the selftests'
# helpers and the BPF objects.
hdr=$MANA_RS_CACHE/build/selftests/hdr
if [ ! -f "$hdr/usr/include/linux/netdev.h" ] || [ "$(kernel_tree)/Makefile" -nt "$hdr/usr/include/linux/netdev.h" ]; then
	info "installing the kernel tree's UAPI headers for the selftests' helpers"
	mkdir -p "$hdr"
	make -s -C "$(kernel_tree)" O="$hdr" ARCH=x86_64 headers > "$out/selftests-headers.log" 2>&1 ||
		{ tail -n 20 "$out/selftests-headers.log" >&2; die "make headers failed (log: $out/selftests-headers.log)"; }
fi
# The BPF objects of the XDP case of the scenario and of the selftests (xdp_dummy.bpf.o,
# xdp_native.bpf.o), compiled with Debian trixie's clang (scripts/bpf-objects.sh).
# Not needed by the KUnit guest.
bpf=$MANA_RS_CACHE/build/selftests/bpf
if [ "$mode" != kunit ]; then
	"$MANA_RS_REPO/scripts/bpf-objects.sh" "$bpf" "$hdr" || die "the BPF objects did not build"
fi

# The selftests (selftests and shell modes): from the kernel tree, the python tests of
# tools/testing/selftests/drivers/net and drivers/net/hw with their lib/py, net/lib, ynl
# (tools/net/ynl/pyynl) and the netlink specs, in the tree's layout under /ksrc (so the tests
# find ynl and the specs as in a kernel tree), and their C helpers, compiled here against the
# tree's UAPI headers (`make headers` in build/selftests/hdr); the BPF objects of the XDP tests
# from scripts/bpf-objects.sh (Debian trixie's clang, unpacked into the cache).
selftests_overlay() {
	local ov=$1 tree ksft hdr bin src dst k
	tree=$(kernel_tree)
	ksft=$tree/tools/testing/selftests
	hdr=$MANA_RS_CACHE/build/selftests/hdr
	bin=$MANA_RS_CACHE/build/selftests/bin
	[ -d "$ksft/drivers/net/hw" ] || die "$ksft/drivers/net/hw not found: the kernel tree is incomplete"
	mkdir -p "$bin"
	for src in net/lib/csum net/lib/gro net/lib/xdp_helper drivers/net/napi_id_helper drivers/net/so_txtime; do
		dst=$bin/${src##*/}
		if [ ! -x "$dst" ] || [ "$ksft/$src.c" -nt "$dst" ]; then
			gcc -O2 -g -Wall -isystem "$hdr/usr/include" -I"$ksft" -I"$ksft/net/lib" \
				-o "$dst.tmp" "$ksft/$src.c" 2> "$out/selftests-cc.log" ||
				{ cat "$out/selftests-cc.log" >&2; die "the selftests' $src.c did not compile"; }
			mv "$dst.tmp" "$dst"
		fi
	done
	[ -n "$ov" ] || return 0
	k=$ov/ksrc/tools/testing/selftests
	mkdir -p "$k/drivers/net/hw" "$k/net/lib" "$ov/ksrc/tools/net/ynl" "$ov/ksrc/Documentation/netlink"
	cp "$ksft"/drivers/net/*.py "$k/drivers/net/"
	cp -r "$ksft/drivers/net/lib" "$k/drivers/net/"
	cp "$ksft"/drivers/net/hw/*.py "$ksft"/drivers/net/hw/*.sh "$k/drivers/net/hw/"
	cp -r "$ksft/drivers/net/hw/lib" "$k/drivers/net/hw/"
	cp -r "$ksft/net/lib/py" "$ksft/net/lib/sh" "$k/net/lib/"
	cp "$ksft/net/lib.sh" "$k/net/"
	cp -r "$tree/tools/net/ynl/pyynl" "$ov/ksrc/tools/net/ynl/"
	cp -r "$tree/Documentation/netlink/specs" "$ov/ksrc/Documentation/netlink/"
	install -m 755 "$bin/csum" "$bin/gro" "$bin/xdp_helper" "$k/net/lib/"
	install -m 755 "$bin/napi_id_helper" "$bin/so_txtime" "$k/drivers/net/"
	# The BPF objects of the XDP tests (xdp.py, ping.py), built below.
	install -m 644 "$bpf"/*.bpf.o "$k/net/lib/"
	mkdir -p "$ov/selftests"
	install -m 755 "$MANA_RS_REPO/tests/selftests/run.py" "$ov/selftests/run.py"
	install -m 644 "$MANA_RS_REPO/tests/selftests/expected" "$ov/selftests/expected"
}

if [ "$mode" = prepare ]; then
	selftests_overlay ""
	exit 0
fi

# The overlay: appended to the cached base archive (the kernel unpacks concatenated archives).
# One per mode: boots of different modes may run at the same time.
ov=$out/overlay-$mode
initramfs=$out/initramfs-$mode.cpio.gz
rm -rf "$ov"
mkdir -p "$ov/e2e" "$ov/kunit" "$ov/usr/local/bin" "$ov/usr/lib/modules"
install -m 755 "$MANA_RS_REPO/tests/e2e/init.sh" "$ov/init"
install -m 755 "$MANA_RS_REPO/tests/e2e/scenario.sh" "$ov/e2e/scenario.sh"
install -m 644 "$MANA_RS_REPO/tests/e2e/pending" "$ov/e2e/pending"
install -m 755 "$MANA_RS_REPO/tests/kunit/run.sh" "$ov/kunit/run.sh"
install -m 755 "$out/raw_qp" "$ov/usr/local/bin/raw_qp"
install -m 755 "$out/uverbs_fuzz" "$ov/usr/local/bin/uverbs_fuzz"
[ "$mode" = kunit ] || install -m 644 "$bpf/xdp_dummy.bpf.o" "$ov/e2e/xdp_dummy.bpf.o"
cp -a "$modbuild/modroot/lib/modules/$release" "$ov/usr/lib/modules/"
case "$mode" in selftests | shell) selftests_overlay "$ov" ;; esac
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$ov.cpio.gz"
cat "$rootfs/base.cpio.gz" "$ov.cpio.gz" > "$initramfs"

bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios qboot.rom)
# SMP, as every Azure VM: two vCPUs on these two-core machines (TCG runs one thread per vCPU).
smp=${MANA_RS_SMP:-2}
qemu=(qemu-system-x86_64 -nodefaults -nographic -no-reboot -accel tcg -cpu max -smp "$smp" -m 2048
	"${bios[@]}" -kernel "$modbuild/arch/x86/boot/bzImage" -initrd "$initramfs"
	-monitor none)
# log_buf_len: the scenario finds the kernel log lines of a step by counting lines (dmesg | wc -l
# before, tail -n +N after); the default 128 KiB ring fills long before the scenario ends, and from
# then on the counts name no line (tests/e2e/scenario.sh checks that the log still starts at boot).
cmdline="console=ttyS0 panic=-1 log_buf_len=16M mana_e2e=$mode"
if [ "$mode" = kunit ]; then
	# Every suite registered, none run at boot: tests/kunit/run.sh runs them once the drivers
	# are loaded.
	cmdline="$cmdline kunit.autorun=0"
	[ -z "${MANA_RS_KUNIT_FILTER:-}" ] || cmdline="$cmdline mana_kunit_filter=$MANA_RS_KUNIT_FILTER"
	[ "${MANA_RS_KUNIT_FULL:-0}" = 0 ] || cmdline="$cmdline mana_kunit_full=1"
	timeout_s=${MANA_RS_KUNIT_TIMEOUT:-2400}
elif [ "$mode" = selftests ]; then
	cmdline="$cmdline loglevel=4 kunit.enable=0"
	timeout_s=${MANA_RS_SELFTESTS_TIMEOUT:-3600}
	[ "${MANA_RS_SELFTESTS_FULL:-0}" = 0 ] || cmdline="$cmdline mana_selftests_full=1"
	[ -z "${MANA_RS_SELFTESTS_ONLY:-}" ] ||
		cmdline="$cmdline mana_selftests_only=$(echo $MANA_RS_SELFTESTS_ONLY | tr ' ' ,)"
	[ "${MANA_RS_SELFTESTS_REPEAT:-1}" = 1 ] ||
		cmdline="$cmdline mana_selftests_repeat=$MANA_RS_SELFTESTS_REPEAT"
else
	cmdline="$cmdline loglevel=4 kunit.enable=0"
	timeout_s=${MANA_RS_E2E_TIMEOUT:-2400}
	# make test-full: the long fuzzer runs.
	[ "${MANA_RS_KUNIT_FULL:-0}" = 0 ] || cmdline="$cmdline mana_e2e_full=1"
fi
[ "${MANA_RS_E2E_STRICT:-0}" = 0 ] || cmdline="$cmdline mana_e2e_strict=1"
stall_s=${MANA_RS_GUEST_STALL:-600}

# guest_watch PID CONSOLE: stops the guest (QEMU process PID) when it is hung, not when it is
# slow. A guest under TCG on a loaded machine runs several times slower than on an idle one, so a
# fixed time limit either fails slow runs or waits long for a hung one. A guest is hung when its
# console has not grown for $stall_s s (every suite, case, step and selftest prints within far
# less, even at load 15), and $timeout_s s bound the whole boot. The reason is appended to
# CONSOLE.
guest_watch() {
	local pid=$1 console=$2 start now size last_size last_change longest=0 reason
	start=$(date +%s)
	last_size=-1
	last_change=$start
	while kill -0 "$pid" 2> /dev/null; do
		sleep 5
		kill -0 "$pid" 2> /dev/null || break
		now=$(date +%s)
		size=$(stat -c %s "$console" 2> /dev/null || echo 0)
		if [ "$size" != "$last_size" ]; then
			[ $((now - last_change)) -le "$longest" ] || longest=$((now - last_change))
			last_size=$size
			last_change=$now
		fi
		if [ $((now - last_change)) -ge "$stall_s" ]; then
			reason="printed nothing for $stall_s s after $((now - start)) s: hung (MANA_RS_GUEST_STALL)"
		elif [ $((now - start)) -ge "$timeout_s" ]; then
			reason="timed out after $timeout_s s (MANA_RS_E2E_TIMEOUT, MANA_RS_KUNIT_TIMEOUT, MANA_RS_SELFTESTS_TIMEOUT)"
		else
			continue
		fi
		# Only a guest that was still running is reported stopped.
		! kill -TERM "$pid" 2> /dev/null || echo "error: the guest $reason" >> "$console"
		return 0
	done
	# The margin left: how long the console was silent at most (5 s resolution).
	echo "mana-rs:   $mode: the longest console silence was about $longest s (limit $stall_s s)" >&2
}

# Boots the guest with its console in file $1, printing each KUnit suite and each scenario
# section as it starts; returns QEMU's status (124: stopped by guest_watch).
boot_logged() {
	local console=$1 qpid rc
	rm -f "$console"
	: > "$console"
	"${qemu[@]}" -append "$cmdline" -serial file:"$console" < /dev/null &
	qpid=$!
	guest_watch "$qpid" "$console" &
	tail -n +1 -F --pid="$qpid" "$console" 2> /dev/null | awk -v mode="$mode" '
		{ sub(/\r$/, "") }
		/^(\[ *[0-9.]+\] )?    # Subtest: / { sub(/.*# Subtest: /, ""); printf "mana-rs:   %s: suite %s\n", mode, $0 > "/dev/stderr"; fflush("/dev/stderr") }
		/^=== .* ===$/ { printf "mana-rs:   %s: %s\n", mode, $0 > "/dev/stderr"; fflush("/dev/stderr") }' &
	set +e
	wait "$qpid"
	rc=$?
	set -e
	wait || true
	# guest_watch leaves its verdict in the console; QEMU killed by it reports 143 (SIGTERM).
	if grep -q '^error: the guest ' "$console"; then rc=124; fi
	return $rc
}
# MANA_RS_FUZZ_SEED=N replays the uverbs fuzzer's runs of a failed test (it prints its seeds).
[ -z "${MANA_RS_FUZZ_SEED:-}" ] || cmdline="$cmdline mana_fuzz_seed=$MANA_RS_FUZZ_SEED"

case "$mode" in
run)
	info "booting the test kernel $release (TCG); the guest powers off when the scenario ends"
	timeout --foreground "$timeout_s" "${qemu[@]}" -append "$cmdline" -serial stdio < /dev/null | tr -d '\r'
	;;
shell)
	"${qemu[@]}" -append "$cmdline" -serial mon:stdio
	;;
test | kunit | selftests)
	case "$mode" in
	test) console=$out/console.log what="end-to-end scenario" ;;
	kunit) console=$out/kunit-console.log what="KUnit suites" ;;
	selftests) console=$out/selftests-console.log what="kernel's driver selftests" ;;
	esac
	info "booting the test kernel $release for the $what (TCG, $smp CPUs; console: $console)"
	start=$(date +%s)
	rc=0
	boot_logged "$console" || rc=$?
	info "the $what guest ran $(( $(date +%s) - start )) s"
	if [ "$mode" = selftests ]; then
		# Unexpected passes and unlisted cases: ktap.py counts them as passed; say so.
		tr -d '\r' < "$console" | sed -n 's/^    # note: /mana-rs:   selftests: /p' >&2 || true
	fi
	echo "$console"
	;;
esac
exit
}
