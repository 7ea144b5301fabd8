#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the guest's root filesystem for the end-to-end scenario and the selftests from the Debian
# packages of tests/e2e/rootfs.list and their dependencies, resolved by apt against a private list
# and cache directory (private_apt in scripts/lib.sh: the machine's apt sources are not touched),
# then unpacked with dpkg-deb (no maintainer scripts run). A package written name/<suite> comes
# from one of the list's extra_suites=, with what it needs that the main suite cannot give;
# everything else comes from the main suite. Output, in $MANA_RS_CACHE/rootfs/<hash>
# where <hash> is that of rootfs.list and of this script (so it is rebuilt only when they change):
#   root/           the unpacked tree (merged /usr, busybox applets for what Debian lacks here)
#   base.cpio.gz    root/ as an initramfs; scripts/e2e.sh appends the modules and tests to it
#   sdk/            root/ plus the `sdk=` packages: headers and link libraries for tests/e2e/*.c
#   manifest        the package versions used
# $MANA_RS_CACHE/rootfs/current points at the newest one. Prints its path.
#
#   rootfs.sh [LIST]   LIST: another package list in the same format (default
#                      tests/e2e/rootfs.list), e.g. tests/dpdk/rootfs.list for the DPDK guest;
#                      its tree is current-<name of the list's directory>.

. "$(dirname "$0")/lib.sh"

list=${1:-$MANA_RS_REPO/tests/e2e/rootfs.list}
[ -f "$list" ] || die "no package list $list"
list=$(realpath "$list")
list_name=$(basename "$(dirname "$list")")
current=current
[ "$list" = "$(realpath "$MANA_RS_REPO/tests/e2e/rootfs.list")" ] || current=current-$list_name
list_value() {
	sed -n "s/^$1=//p" "$list"
}
suite=$(list_value suite)
mirror=$(list_value mirror)
read -r -a packages <<< "$(list_value packages)"
read -r -a sdk_packages <<< "$(list_value sdk)"
read -r -a extra_suites <<< "$(list_value extra_suites)"
[ -n "$suite" ] && [ ${#packages[@]} -gt 0 ] || die "$list needs suite= and packages="

top=$MANA_RS_CACHE/rootfs
# The key: the list without its comments, and this script (how the tree is assembled).
hash=$({ grep -v '^#' "$list"; cat "$0"; } | sha256sum | cut -c1-16)
out=$top/$hash
if [ -f "$out/.done" ]; then
	ln -sfn "$hash" "$top/$current"
	echo "$out"
	exit 0
fi

mkdir -p "$top"
exec 9> "$top/.lock"
flock 9
if [ -f "$out/.done" ]; then
	ln -sfn "$hash" "$top/$current"
	echo "$out"
	exit 0
fi
start=$(date +%s)

archives=("$mirror $suite main")
for s in "${extra_suites[@]}"; do archives+=("$mirror $s main"); done
private_apt "$top/apt" "${archives[@]}"
# The extra suites (e.g. forky for an ethtool newer than trixie's) at priority 100: apt takes
# from them only the packages named name/<suite> and the versions those depend on.
for s in "${extra_suites[@]}"; do printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' "$s"; done \
	> "$apt_dir/etc/preferences"
apt_opts+=(-o "Dir::Etc::Preferences=$apt_dir/etc/preferences")
info "resolving the root filesystem's packages from Debian $suite${extra_suites:+ (and ${extra_suites[*]})}"
private_apt_update
private_apt_resolve "${packages[@]}" > "$apt_dir/root.list"
private_apt_resolve "${packages[@]}" "${sdk_packages[@]}" > "$apt_dir/sdk.list"
# Only what the archive cache lacks.
private_apt_download "$apt_dir/sdk.list"

# Unpacks the packages of list $1 into directory $2 (merged /usr, as Debian 13 is).
unpack() {
	local dir=$2 name version
	mkdir -p "$dir"/usr/{bin,sbin,lib,lib64}
	for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$dir/$d"; done
	while read -r name version; do
		dpkg-deb --fsys-tarfile "$(private_apt_deb "$name" "$version")" |
			tar -x --keep-directory-symlink -C "$dir" ||
			die "unpacking $name $version failed"
	done < "$1"
}

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
root=$out.tmp/root
unpack "$apt_dir/root.list" "$root"
unpack "$apt_dir/sdk.list" "$out.tmp/sdk"

# What the guest does not need.
rm -rf "$root"/usr/share/{doc,man,info,locale,lintian,bug,bash-completion,zsh} "$root"/usr/lib/udev
# /bin/sh is dash (its package leaves the link to its maintainer script): Debian's busybox ash
# runs its own applets in preference to PATH, so `ip` in it would not be iproute2's.
[ -x "$root/usr/bin/dash" ] || die "the root filesystem lacks dash"
ln -sfn dash "$root/usr/bin/sh"
# busybox applets for the commands Debian's packages here do not provide (mount, ps, sed, ...);
# Debian's own tools keep their place.
busybox=$root/usr/bin/busybox
[ -x "$busybox" ] || die "busybox-static did not provide /usr/bin/busybox"
"$busybox" --list-full | while IFS= read -r applet; do
	p=$root/$applet
	[ -e "$p" ] || [ -L "$p" ] || ln -s /usr/bin/busybox "$p"
done
# Users: root and an unprivileged one (uid 1000) for the CAP_NET_RAW checks.
mkdir -p "$root"/{etc,proc,sys,dev,tmp,run,root,home/user}
chmod 1777 "$root/tmp"
cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
sed -i 's#^root:[^:]*:#root::#' "$root/etc/passwd"
echo 'user:x:1000:1000:unprivileged e2e user:/home/user:/bin/sh' >> "$root/etc/passwd"
echo 'user:x:1000:' >> "$root/etc/group"
echo 'mana-e2e' > "$root/etc/hostname"
[ -e "$root/etc/os-release" ] || printf 'PRETTY_NAME="Debian %s (packages of tests/e2e/rootfs.list)"\nVERSION_CODENAME=%s\n' "$suite" "$suite" > "$root/etc/os-release"
[ -e "$root/etc/ld.so.conf" ] || echo 'include /etc/ld.so.conf.d/*.conf' > "$root/etc/ld.so.conf"
ldconfig -r "$root" 2> /dev/null || warn "ldconfig -r failed: the guest falls back to ld.so's default paths"
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || die "the root filesystem has no /lib64/ld-linux-x86-64.so.2"
for tool in ip ethtool modprobe ibv_devinfo ping setpriv su bash python3 socat iperf3 jq; do
	found=
	for d in usr/bin usr/sbin; do [ -e "$root/$d/$tool" ] && found=1; done
	[ -n "$found" ] || die "the root filesystem lacks $tool: add its package to $list"
done
[ -e "$root/etc/libibverbs.d/mana.driver" ] || die "the root filesystem lacks libmana (ibverbs-providers)"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$out.tmp/base.cpio.gz"
{
	echo "# Debian $suite${extra_suites:+ + ${extra_suites[*]} for name/<suite>} ($mirror), resolved $(date -u +%Y-%m-%dT%H:%MZ)"
	cat "$apt_dir/root.list"
	echo "# sdk only:"
	comm -13 "$apt_dir/root.list" "$apt_dir/sdk.list"
} > "$out.tmp/manifest"
touch "$out.tmp/.done"
rm -rf "$out" && mv "$out.tmp" "$out"
ln -sfn "$hash" "$top/$current"
# Root filesystems of older package lists (none that a current* link names), and downloaded
# packages no list uses any more.
keep=(! -name apt)
for l in "$top"/current*; do keep+=(! -name "$(readlink "$l")"); done
find "$top" -mindepth 1 -maxdepth 1 -type d "${keep[@]}" -exec rm -rf {} +
apt-get "${apt_opts[@]}" -qq autoclean > /dev/null 2>&1 || true
info "root filesystem built in $(( $(date +%s) - start )) s: $(du -sh "$out/root" | cut -f1) unpacked, $(du -h "$out/base.cpio.gz" | cut -f1) compressed ($out)"
echo "$out"
