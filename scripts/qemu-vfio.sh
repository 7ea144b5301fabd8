#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# QEMU with the vfio-user client (qemu.lock: Debian trixie-backports' qemu-system-x86 11.1) for
# the PCI tests, on a Debian 12 host whose own QEMU 7.2 lacks it. The package and the trixie
# libraries it needs are resolved and downloaded with a private apt (private_apt in lib.sh: the
# machine's apt sources are not touched), unpacked with dpkg-deb -x (no maintainer scripts, no
# chroot) into $MANA_RS_CACHE/qemu/<key>/root, and run through trixie's own dynamic loader, so
# that none of the host's libraries or QEMU modules are mixed in.
#
#   qemu-vfio.sh root          fetch if needed; print the unpacked tree
#   qemu-vfio.sh command       fetch if needed; print the command line that runs this QEMU
#   qemu-vfio.sh check         fetch if needed; show `-device vfio-user-pci,help`, fail without it
#   qemu-vfio.sh [run] ARGS..  fetch if needed; exec this QEMU with ARGS (TCG: KVM hangs here)

. "$(dirname "$0")/lib.sh"

lock=qemu.lock
package=$(lock_value package "$lock")
locked_version=$(lock_value version "$lock")
locked_sha256=$(lock_value sha256 "$lock")
suite=$(lock_value suite "$lock")
base_suite=$(lock_value base_suite "$lock")
mirror=$(lock_value mirror "$lock")

top=$MANA_RS_CACHE/qemu
# How fetch() assembles the tree: bump it when that changes, so trees are rebuilt.
tree_version=1
# The key: the lock (what is installed) and the assembly.
key=$({ grep -v '^#' "$MANA_RS_REPO/$lock"; echo "tree_version=$tree_version"; } | sha256sum | cut -c1-16)
out=$top/$key

# Unpacks the locked QEMU and its dependency closure into $out unless it is there already.
fetch() {
	[ -f "$out/.done" ] && return 0
	mkdir -p "$top"
	exec 9> "$top/.lock"
	flock 9
	[ -f "$out/.done" ] && return 0
	local start name version deb have
	start=$(date +%s)

	private_apt "$top/apt" "$mirror $base_suite main" "$mirror $suite main"
	# Prefer the backports suite for everything it carries: qemu-system-x86 pins
	# qemu-system-common to its own version and needs a newer seabios.
	apt_opts+=(-o "APT::Default-Release=$suite")
	info "resolving $package $locked_version from Debian $suite"
	private_apt_update
	apt-cache "${apt_opts[@]}" show "$package=$locked_version" > /dev/null 2>&1 ||
		die "$package $locked_version is no longer served by $mirror $suite: update qemu.lock"
	private_apt_resolve "$package=$locked_version" > "$apt_dir/qemu.list"
	private_apt_download "$apt_dir/qemu.list"
	deb=$(private_apt_deb "$package" "$locked_version")
	have=$(sha256sum "$deb" | awk '{ print $1 }')
	if [ "$have" != "$locked_sha256" ]; then
		rm -f "$deb"
		die "$package $locked_version has sha256 $have, qemu.lock says $locked_sha256: refusing to use it"
	fi

	rm -rf "$out.tmp"
	mkdir -p "$out.tmp/root"
	while read -r name version; do
		dpkg-deb -x "$(private_apt_deb "$name" "$version")" "$out.tmp/root" ||
			die "unpacking $name $version failed"
	done < "$apt_dir/qemu.list"
	rm -rf "$out.tmp/root/usr/share/"{doc,man,locale,lintian,bug}
	[ -x "$out.tmp/root/usr/lib64/ld-linux-x86-64.so.2" ] || die "the QEMU tree has no usr/lib64/ld-linux-x86-64.so.2"
	[ -x "$out.tmp/root/usr/bin/qemu-system-x86_64" ] || die "the QEMU tree has no usr/bin/qemu-system-x86_64"
	{
		echo "# $package $locked_version (sha256 $locked_sha256), Debian $suite + $base_suite ($mirror), resolved $(date -u +%Y-%m-%dT%H:%MZ)"
		cat "$apt_dir/qemu.list"
	} > "$out.tmp/manifest"
	touch "$out.tmp/.done"
	rm -rf "$out" && mv "$out.tmp" "$out"
	ln -sfn "$key" "$top/current"
	# Trees of older locks or scripts, and packages no tree uses any more.
	find "$top" -mindepth 1 -maxdepth 1 -type d ! -name apt ! -name "$key" -exec rm -rf {} +
	apt-get "${apt_opts[@]}" -qq autoclean > /dev/null 2>&1 || true
	info "QEMU $locked_version unpacked in $(( $(date +%s) - start )) s: $(wc -l < "$apt_dir/qemu.list") packages, $(du -sh "$out/root" | cut -f1) ($out)"
}

# The command line, as an array: trixie's loader runs trixie's QEMU against trixie's libraries
# only; QEMU_MODULE_DIR keeps it from loading the host's QEMU 7.2 modules (it aborts on them).
qemu_command() {
	local root=$out/root
	qemu=(env "QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu"
		"$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$root/usr/lib/x86_64-linux-gnu"
		"$root/usr/bin/qemu-system-x86_64" -L "$root/usr/share/qemu")
}

fetch
qemu_command
case "${1:-}" in
root)
	echo "$out/root"
	;;
command)
	printf '%q ' "${qemu[@]}"
	echo
	;;
check)
	help=$("${qemu[@]}" -device vfio-user-pci,help) || die "this QEMU does not run: $help"
	echo "$help"
	grep -q 'socket=' <<< "$help" || die "this QEMU has no vfio-user-pci device with a socket property"
	;;
run)
	shift
	exec "${qemu[@]}" "$@"
	;;
'')
	{
		echo usage:
		sed -n 's/^#   qemu-vfio.sh/  qemu-vfio.sh/p' "$0"
	} >&2
	exit 2
	;;
*)
	exec "${qemu[@]}" "$@"
	;;
esac
