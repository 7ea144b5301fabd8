#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Downloads Debian's linux-source package named in kernel.lock with apt, into a private
# list and cache directory (the machine's apt sources are not touched), verifies its sha256
# and unpacks it under $MANA_RS_CACHE/src. Falls back to the newest 7.3.y, with a warning, if
# the locked version is no longer served.

. "$(dirname "$0")/lib.sh"

package=$(lock_value package)
locked_version=$(lock_value version)
locked_sha256=$(lock_value sha256)
suite=$(lock_value suite)
mirror=$(lock_value mirror)

# Already unpacked: nothing to do, and no network needed.
if [ -f "$(kernel_tree)/.mana-rs-unpacked" ]; then
	exit 0
fi

private_apt "$MANA_RS_CACHE/apt" "$mirror $suite main"

deb_of() {
	echo "$apt_dir/archives/${package}_${1//:/%3a}_all.deb"
}

version=$locked_version
deb=$(deb_of "$version")
if [ ! -f "$deb" ] || [ "$(sha256sum "$deb" | awk '{ print $1 }')" != "$locked_sha256" ]; then
	info "fetching the package list of $suite"
	private_apt_update
	if apt-cache "${apt_opts[@]}" show "$package=$locked_version" >/dev/null 2>&1; then
		info "downloading $package $version"
	else
		version=$(apt-cache "${apt_opts[@]}" policy "$package" | awk '/Candidate:/ { print $2 }')
		[ -n "$version" ] && [ "$version" != "(none)" ] ||
			die "$package is not served by $mirror $suite any more: update kernel.lock"
		warn "$package $locked_version is no longer served; using the newest 7.3.y, $version (update kernel.lock to silence this)"
	fi
	(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" -qq download "$package=$version") ||
		die "downloading $package $version failed"
	deb=$(deb_of "$version")
	if [ "$version" = "$locked_version" ]; then
		have=$(sha256sum "$deb" | awk '{ print $1 }')
		if [ "$have" != "$locked_sha256" ]; then
			rm -f "$deb"
			die "$package $version has sha256 $have, kernel.lock says $locked_sha256: refusing to use it"
		fi
	fi
fi
echo "$version" > "$MANA_RS_CACHE/kernel-version"

tree=$(kernel_tree)
info "unpacking $package $version into $tree"
rm -rf "$tree" "$tree.tmp"
mkdir -p "$tree.tmp"
dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
	tar -xJ -C "$tree.tmp" --strip-components=1
mv "$tree.tmp" "$tree"
touch "$tree/.mana-rs-unpacked"
