#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Checks of the built test kernel's mana-rs objects (scripts/kernel.sh builds them) that the
# compilers do not make:
#   frame_sizes    no function of the drivers or of the abstractions reserves more than 2 KiB
#                  of stack, none on the data path more than 1 KiB (scripts/frame-sizes.py);
#                  Rust has no CONFIG_FRAME_WARN
#   objtool_clean  objtool, run again on each driver object as the build ran it (--dry-run),
#                  warns about nothing: a warm build does not print the warnings again
# Prints what it finds; with --ktap, as the KTAP suite mana_rs_build_checks for scripts/ktap.py.
# Exits 1 if a check failed.

. "$(dirname "$0")/lib.sh"

ktap=0
[ "${1:-}" != --ktap ] || ktap=1
build=$MANA_RS_CACHE/build/kernel
objs=()
for o in mana_gdma.o mana_eth.o mana_rdma.o; do
	[ ! -f "$build/drivers/mana_rs/$o" ] || objs+=("$build/drivers/mana_rs/$o")
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The abstractions live in the kernel crate, with everything else of it: only theirs count.
abstractions='kernel::(netdev|rdma|dma_stream|owned_workqueue)'
frames=0
python3 "$MANA_RS_REPO/scripts/frame-sizes.py" "${objs[@]}" \
	"$build/rust/kernel.o=$abstractions" > "$out/frames" 2>&1 || frames=1

objtool=0
: > "$out/objtool"
for obj in "${objs[@]}"; do
	rel=${obj#"$build"/}
	cmdfile=$(dirname "$obj")/.$(basename "$obj").cmd
	# The objtool step of the object's build command, without the object's own modifications.
	args=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile" | grep -o '; *\./tools/objtool/objtool .*' |
		sed 's/^; *//') || true
	if [ -z "$args" ]; then
		echo "$rel: no objtool step in its build command ($cmdfile)" >> "$out/objtool"
		objtool=1
		continue
	fi
	# shellcheck disable=SC2086
	(cd "$build" && ${args/objtool /objtool --dry-run }) 2>&1 | grep -v "file already has" | c++filt >> "$out/objtool" || true
done
grep -q . "$out/objtool" && objtool=1

if [ $ktap -eq 0 ]; then
	cat "$out/frames" "$out/objtool"
else
	echo "KTAP version 1"
	echo "1..1"
	echo "    KTAP version 1"
	echo "    # Subtest: mana_rs_build_checks"
	echo "    1..2"
	sed 's/^/    # /' "$out/frames"
	echo "    $([ $frames -eq 0 ] && echo ok || echo not ok) 1 frame_sizes"
	sed 's/^/    # /' "$out/objtool" | head -n 40
	echo "    $([ $objtool -eq 0 ] && echo ok || echo not ok) 2 objtool_clean"
	echo "$([ $((frames + objtool)) -eq 0 ] && echo ok || echo not ok) 1 mana_rs_build_checks"
fi
[ $((frames + objtool)) -eq 0 ]
