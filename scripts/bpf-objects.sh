#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The BPF objects of the kernel's selftests that the selftests stage needs (xdp_dummy.bpf.o,
# xdp_native.bpf.o of tools/testing/selftests/net/lib), compiled with Debian trixie's clang for
# `--target=bpf`, as the selftests' own Makefile (net/bpf.mk) would. The Debian 12 host has no
# clang, so clang-19 and the trixie libraries it needs are resolved and downloaded with a
# private apt (debian_tree in lib.sh: the machine's apt sources are not touched), unpacked with
# dpkg-deb -x into $MANA_RS_CACHE/bpf-clang/clang-19/root and run through trixie's own dynamic loader
# (as scripts/qemu-vfio.sh runs QEMU).
#
#   bpf-objects.sh OUTDIR HDR   compile the objects into OUTDIR against the UAPI headers
#                               installed in HDR (`make headers` output: HDR/usr/include)

. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: bpf-objects.sh OUTDIR HDR"
outdir=$1
hdr=$2
tree=$(kernel_tree)
ksft=$tree/tools/testing/selftests
package=clang-19
out=$MANA_RS_CACHE/bpf-clang/$package

debian_tree "$out" "$package" trixie usr/lib/llvm-19/bin/clang
root=$out/root
resource=$(ls -d "$root"/usr/lib/llvm-19/lib/clang/* | head -n 1)
# trixie's loader runs trixie's clang against trixie's libraries only; clang runs cc1 in its
# own process, and finds its headers (stddef.h) through the resource directory given here.
mapfile -t clang < <(debian_tree_run "$out" usr/lib/llvm-19/bin/clang)
clang+=(-resource-dir "$resource")

# libbpf's headers as the selftests include them (<bpf/bpf_helpers.h>), with the generated
# helper definitions.
inc=$MANA_RS_CACHE/build/selftests/bpf-include
if [ ! -f "$inc/bpf/bpf_helper_defs.h" ] || [ "$tree/include/uapi/linux/bpf.h" -nt "$inc/bpf/bpf_helper_defs.h" ]; then
	mkdir -p "$inc/bpf"
	cp "$tree"/tools/lib/bpf/{bpf_helpers.h,bpf_endian.h,bpf_tracing.h,bpf_core_read.h} "$inc/bpf/"
	python3 "$tree/scripts/bpf_doc.py" --header --file "$tree/include/uapi/linux/bpf.h" > "$inc/bpf/bpf_helper_defs.h.tmp" ||
		die "generating bpf_helper_defs.h failed"
	mv "$inc/bpf/bpf_helper_defs.h.tmp" "$inc/bpf/bpf_helper_defs.h"
fi

mkdir -p "$outdir"
for obj in xdp_dummy xdp_native; do
	src=$ksft/net/lib/$obj.bpf.c
	dst=$outdir/$obj.bpf.o
	[ -f "$dst" ] && [ "$dst" -nt "$src" ] && continue
	"${clang[@]}" -O2 -g --target=bpf -I"$hdr/usr/include" -I"$inc" \
		-idirafter "$root/usr/include" -idirafter "$root/usr/include/x86_64-linux-gnu" \
		-c "$src" -o "$dst.tmp" 2> "$outdir/$obj.log" ||
		{ cat "$outdir/$obj.log" >&2; die "$obj.bpf.c did not compile"; }
	mv "$dst.tmp" "$dst"
done
