#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs what mana-rs needs and checks the machine, with one clear message per problem:
# Debian packages, rust-src, bindgen-cli, libclang (PyPI), disk space, the kernel source.
# Safe to run again: it only installs what is missing.

. "$(dirname "$0")/lib.sh"

DEB_PACKAGES=(gcc make flex bison bc libelf-dev libssl-dev cpio qemu-system-x86 python3 python3-pip
	xz-utils curl ca-certificates busybox-static kmod)
MIN_FREE_GB=8

check_disk() {
	mkdir -p "$MANA_RS_CACHE"
	local free_kb
	free_kb=$(df -Pk "$MANA_RS_CACHE" | awk 'NR == 2 { print $4 }')
	if [ ! -d "$(kernel_tree)" ] && [ "$free_kb" -lt $((MIN_FREE_GB * 1024 * 1024)) ]; then
		die "not enough disk for the kernel tree and build: $((free_kb / 1024)) MiB free in $MANA_RS_CACHE, need ${MIN_FREE_GB} GiB (free space, or point MANA_RS_CACHE at a bigger disk)"
	fi
}

install_debian_packages() {
	local missing=()
	for p in "${DEB_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	command -v apt-get >/dev/null || die "apt-get not found: mana-rs expects a Debian 12 (or newer) machine; install ${missing[*]} yourself"
	info "installing Debian packages: ${missing[*]}"
	as_root apt-get update -qq >/dev/null ||
		die "cannot reach Debian's package archive (apt-get update failed): check the network or the apt proxy"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed: see the message above"
}

check_rustc() {
	command -v rustc >/dev/null || die "rustc not found: install Rust with rustup (https://rustup.rs), then run make again"
	local have min
	have=$(rustc --version | awk '{ print $2 }')
	min=1.85.0
	if [ -d "$(kernel_tree)" ]; then
		min=$("$(kernel_tree)/scripts/min-tool-version.sh" rustc)
	fi
	if [ "$(printf '%s\n%s\n' "$min" "$have" | sort -V | head -n 1)" != "$min" ]; then
		die "rustc $have is older than the kernel's minimum $min: run 'rustup update stable'"
	fi
	local sysroot
	sysroot=$(rustc --print sysroot)
	if [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
		command -v rustup >/dev/null || die "the Rust standard library source (rust-src) is missing and rustup is not available to add it"
		info "adding the rust-src component"
		rustup component add rust-src >/dev/null || die "'rustup component add rust-src' failed: check access to static.rust-lang.org"
	fi
	rustup component list --installed 2>/dev/null | grep -q '^clippy' ||
		rustup component add clippy rustfmt >/dev/null 2>&1 || true
}

install_bindgen() {
	if command -v bindgen >/dev/null && [ "$(bindgen --version | awk '{ print $2 }')" = "$BINDGEN_VERSION" ]; then
		return
	fi
	command -v cargo >/dev/null || die "cargo not found: install Rust with rustup"
	info "installing bindgen-cli $BINDGEN_VERSION (cargo install --locked; a few minutes)"
	cargo install --locked --quiet "bindgen-cli@$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli@$BINDGEN_VERSION failed: check that crates.io is reachable"
}

install_libclang() {
	if python3 -c 'import clang, os, sys; sys.exit(not os.path.exists(os.path.join(os.path.dirname(clang.__file__), "native", "libclang.so")))' 2>/dev/null; then
		return
	fi
	info "installing libclang $LIBCLANG_VERSION from PyPI"
	python3 -m pip install --quiet --disable-pip-version-check "libclang==$LIBCLANG_VERSION" 2>/dev/null ||
		python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "libclang==$LIBCLANG_VERSION" ||
		die "pip install libclang==$LIBCLANG_VERSION failed: check that PyPI is reachable"
}

check_qemu() {
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 not found: install the Debian package qemu-system-x86"
}

check_disk
install_debian_packages
check_qemu
check_rustc
install_bindgen
install_libclang
libclang_env
"$MANA_RS_REPO/scripts/kernel-source.sh"
"$MANA_RS_REPO/scripts/prepare-tree.sh"
check_rustc
