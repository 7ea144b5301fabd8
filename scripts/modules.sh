#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the end-to-end kernel of tests/e2e/kernel.config in $MANA_RS_CACHE/build/modules: the
# mana-rs drivers as loadable modules (mana_gdma, mana_eth, mana_rdma), the Rust kernel crate and
# the RDMA core built in, no KUnit. Installs the modules into $MANA_RS_CACHE/build/modules/modroot
# (lib/modules/<release>/, with modules.dep), which scripts/e2e.sh copies into the guest's root
# filesystem so that `modprobe mana_gdma sw_adapters=1` works as on an Azure VM.
# The KUnit kernel (scripts/kunit.sh) is a separate build with the drivers built in.

. "$(dirname "$0")/lib.sh"

libclang_env
tree=$(kernel_tree)
build=$MANA_RS_CACHE/build/modules
fragment=$MANA_RS_REPO/tests/e2e/kernel.config
mkdir -p "$build"
log=$build/mana-rs-build.log

exec 9> "$build/.lock"
if ! flock -n 9; then
	info "waiting for another build in $build to finish"
	flock 9
fi

"$MANA_RS_REPO/scripts/prepare-tree.sh"

kmake() {
	make -C "$tree" O="$build" ARCH=x86_64 -j"$MANA_RS_JOBS" "$@"
}

# The configuration: the fragment over the defaults (as kunit.py does), redone only when the
# fragment changes, so a warm build stays warm.
if ! cmp -s "$fragment" "$build/.mana-rs-fragment" || [ ! -f "$build/.config" ]; then
	info "configuring the module kernel from tests/e2e/kernel.config"
	cp "$fragment" "$build/.config"
	kmake olddefconfig > "$log" 2>&1 || { tail -n 20 "$log" >&2; die "make olddefconfig failed (log: $log)"; }
	missing=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$fragment" | while IFS= read -r line; do
		grep -qxF "$line" "$build/.config" || echo "$line"
	done)
	[ -z "$missing" ] || die "the kernel configuration dropped these lines of tests/e2e/kernel.config (a dependency is missing):
$missing"
	cp "$fragment" "$build/.mana-rs-fragment"
fi

info "building the module kernel in $build (log: $log)"
start=$(date +%s)
if ! kmake bzImage modules >> "$log" 2>&1; then
	grep -E 'error(\[E[0-9]+\])?:|Error [0-9]|ERROR:|undefined' -A12 "$log" | head -n 80 >&2 || tail -n 40 "$log" >&2
	die "the module kernel did not build (full log: $log)"
fi
release=$(cat "$build/include/config/kernel.release")
modroot=$build/modroot
rm -rf "$modroot.tmp"
kmake INSTALL_MOD_PATH="$modroot.tmp" INSTALL_MOD_STRIP=1 modules_install >> "$log" 2>&1 ||
	die "make modules_install failed (log: $log)"
rm -rf "$modroot" && mv "$modroot.tmp" "$modroot"
for m in mana_gdma mana_eth mana_rdma; do
	find "$modroot/lib/modules/$release" -name "$m.ko*" | grep -q . || die "module $m.ko was not built"
done
info "module kernel $release built in $(( $(date +%s) - start )) s"
