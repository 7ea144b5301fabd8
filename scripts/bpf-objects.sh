#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The BPF objects of the kernel's selftests that the selftests stage needs (xdp_dummy.bpf.o,
# xdp_native.bpf.o of tools/testing/selftests/net/lib), compiled with Debian trixie's clang for
# `--target=bpf`, as the selftests' own Makefile (net/bpf.mk) would. The Debian 12 host has no
# clang, so clang-19 and the trixie libraries it needs are resolved and downloaded with a
# private apt (private_apt in lib.sh: the machine's apt sources are not touched), unpacked with
# dpkg-deb -x into $MANA_RS_CACHE/bpf-clang/root and run through trixie's own dynamic loader
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
suite=trixie
mirror=$(lock_value mirror)
top=$MANA_RS_CACHE/bpf-clang
out=$top/$package

# Unpacks clang and its dependency closure into $out unless it is there already.
fetch() {
	[ -f "$out/.done" ] && return 0
	mkdir -p "$top"
	exec 9> "$top/.lock"
	flock 9
	[ -f "$out/.done" ] && return 0
	local start name version
	start=$(date +%s)
	private_apt "$top/apt" "$mirror $suite main"
	info "resolving $package from Debian $suite (the BPF compiler of the selftests' objects)"
	private_apt_update
	private_apt_resolve "$package" > "$apt_dir/clang.list"
	private_apt_download "$apt_dir/clang.list"
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp/root"
	while read -r name version; do
		dpkg-deb -x "$(private_apt_deb "$name" "$version")" "$out.tmp/root" ||
			die "unpacking $name $version failed"
	done < "$apt_dir/clang.list"
	rm -rf "$out.tmp/root/usr/share/"{doc,man,locale,lintian,bug}
	[ -x "$out.tmp/root/usr/lib64/ld-linux-x86-64.so.2" ] || die "the clang tree has no usr/lib64/ld-linux-x86-64.so.2"
	[ -x "$out.tmp/root/usr/lib/llvm-19/bin/clang" ] || die "the clang tree has no usr/lib/llvm-19/bin/clang"
	{
		echo "# $package, Debian $suite ($mirror), resolved $(date -u +%Y-%m-%dT%H:%MZ)"
		cat "$apt_dir/clang.list"
	} > "$out.tmp/manifest"
	touch "$out.tmp/.done"
	rm -rf "$out" && mv "$out.tmp" "$out"
	apt-get "${apt_opts[@]}" -qq autoclean > /dev/null 2>&1 || true
	info "clang unpacked in $(( $(date +%s) - start )) s: $(wc -l < "$apt_dir/clang.list") packages, $(du -sh "$out/root" | cut -f1)"
}

fetch
root=$out/root
resource=$(ls -d "$root"/usr/lib/llvm-19/lib/clang/* | head -n 1)
# trixie's loader runs trixie's clang against trixie's libraries only; clang runs cc1 in its
# own process, and finds its headers (stddef.h) through the resource directory given here.
clang=("$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
	"$root/usr/lib/llvm-19/bin/clang" -resource-dir "$resource")

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
