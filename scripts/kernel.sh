#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the one test kernel of tests/kernel.config in $MANA_RS_CACHE/build/kernel: the mana-rs
# drivers as loadable modules (mana_gdma, mana_eth, mana_rdma), their KUnit suites in them, the
# Rust kernel crate and the RDMA core built in, SMP. The same build serves the KUnit boot, the
# end-to-end scenario and the selftests (scripts/e2e.sh). Installs the modules into
# $MANA_RS_CACHE/build/kernel/modroot (lib/modules/<release>/, with modules.dep), which
# scripts/e2e.sh copies into the guest's root filesystem so that `modprobe mana_gdma` works as on
# an Azure VM.
#
# Prints a line every 30 s while it builds: the build steps done and, when the size of a full
# build is known (it is recorded after each full build), the percentage.
#
# MANA_RS_KERNEL_VARIANT=nokunit builds the same kernel without KUnit in build/kernel-nokunit
# (`make lint`: code only the tests use must not leave warnings in what users build).

. "$(dirname "$0")/lib.sh"

# The body is one compound command, read whole before it runs: editing this file while it
# runs (a long test boot) cannot change what the running copy does.
{

libclang_env
tree=$(kernel_tree)
variant=${MANA_RS_KERNEL_VARIANT:-}
build=$MANA_RS_CACHE/build/kernel${variant:+-$variant}
mkdir -p "$build"
log=$build/mana-rs-build.log
# One build at a time in a build tree; the fragment is written under the lock (a second run
# waiting here once found the first run's fragment gone).
exec 9> "$build/.lock"
if ! flock -n 9; then
	info "waiting for another build in $build to finish"
	flock 9
fi
fragment=$build/.mana-rs-fragment.new
case "$variant" in
"") cp "$MANA_RS_REPO/tests/kernel.config" "$fragment" ;;
nokunit) sed -e 's/^CONFIG_KUNIT=y$/# CONFIG_KUNIT is not set/' -e '/^\(# \)\?CONFIG_KUNIT_/d' \
	"$MANA_RS_REPO/tests/kernel.config" > "$fragment" ;;
*) die "MANA_RS_KERNEL_VARIANT=$variant: unknown (empty or nokunit)" ;;
esac

"$MANA_RS_REPO/scripts/prepare-tree.sh"

# The kernel's BTF (CONFIG_DEBUG_INFO_BTF, which libbpf needs to load the selftests' XDP
# programs: they call kfuncs) is made by pahole. With CONFIG_RUST the kernel needs its
# --lang_exclude (1.24 on); the host (Debian 12) has no pahole, and its dwarves 1.24 would get
# the 7.3 build's pre-1.26 options only (no --btf_features: no decl tags, no consistency check
# of optimized functions). So trixie's dwarves is unpacked into the cache (debian_tree) and run
# through trixie's loader by a wrapper script, passed to the build as PAHOLE (kbuild runs
# $(PAHOLE) as one word).
pahole_args=()
if grep -qx 'CONFIG_DEBUG_INFO_BTF=y' "$fragment"; then
	pahole_tree=$MANA_RS_CACHE/pahole/dwarves
	debian_tree "$pahole_tree" dwarves trixie usr/bin/pahole
	pahole=$MANA_RS_CACHE/pahole/pahole
	if [ ! -x "$pahole" ]; then
		{
			echo '#!/bin/sh'
			echo "# trixie's pahole from $pahole_tree (scripts/kernel.sh)"
			printf 'exec'
			debian_tree_run "$pahole_tree" usr/bin/pahole | while IFS= read -r word; do printf " '%s'" "$word"; done
			echo ' "$@"'
		} > "$pahole.tmp"
		chmod +x "$pahole.tmp"
		mv "$pahole.tmp" "$pahole"
	fi
	"$pahole" --version > /dev/null || die "trixie's pahole does not run ($pahole)"
	pahole_args=(PAHOLE="$pahole")
fi

kmake() {
	make -C "$tree" O="$build" ARCH=x86_64 -j"$MANA_RS_JOBS" "${pahole_args[@]}" "$@"
}

# The configuration: the fragment over the defaults (as kunit.py does), redone only when the
# fragment changes, so a warm build stays warm.
if ! cmp -s "$fragment" "$build/.mana-rs-fragment" || [ ! -f "$build/.config" ]; then
	info "configuring the test kernel from tests/kernel.config${variant:+ ($variant)}"
	cp "$fragment" "$build/.config"
	kmake olddefconfig > "$log" 2>&1 || { tail -n 20 "$log" >&2; die "make olddefconfig failed (log: $log)"; }
	missing=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$fragment" | while IFS= read -r line; do
		grep -qxF "$line" "$build/.config" || echo "$line"
	done)
	[ -z "$missing" ] || die "the kernel configuration dropped these lines of tests/kernel.config (a dependency is missing):
$missing"
	cp "$fragment" "$build/.mana-rs-fragment"
fi
rm -f "$fragment"

# Nothing to do when no input changed since the last complete build: the repository's kernel-side
# files (everything but the guest tests, tools/ and the documentation) and the scripts that make
# the tree are not newer than the stamp the last build left, and the stamp names the same tree
# and the same configuration. A no-op `make` of the whole tree takes about 40 s on 2 cores; this
# check takes well under a second. A touched file counts as changed, as it does for make.
# MANA_RS_KERNEL_FORCE=1 runs make anyway.
stamp=$build/.mana-rs-built
stamp_id="tree=$tree variant=$variant config=$(sha256sum < "$build/.mana-rs-fragment" | cut -c1-16)"
# Prints the first input newer than the stamp, if any.
newer_input() {
	local d inputs=()
	for d in "$MANA_RS_REPO"/*/ "$MANA_RS_REPO"/.[!.]*/; do
		[ -d "$d" ] || continue
		case "$(basename "$d")" in .git | .ci | tools | tests | scripts | Documentation) continue ;; esac
		inputs+=("$d")
	done
	inputs+=("$MANA_RS_REPO"/Kbuild "$MANA_RS_REPO"/Kconfig "$MANA_RS_REPO"/kernel.lock
		"$MANA_RS_REPO"/tests/kernel.config "$MANA_RS_REPO"/scripts/{kernel,prepare-tree,kernel-source,lib}.sh)
	find -H "${inputs[@]}" -name target -prune -o -newer "$stamp" -print -quit 2> /dev/null
}
if [ "${MANA_RS_KERNEL_FORCE:-0}" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_id" ] &&
	[ -f "$build/vmlinux" ] && [ -f "$build/modroot/.stamp" ] && [ -z "$(newer_input)" ]; then
	info "the test kernel is up to date (nothing in the repository changed since its build; MANA_RS_KERNEL_FORCE=1 rebuilds)"
	exit 0
fi
rm -f "$stamp"
# The stamp gets the time the build started: a file edited while it runs is newer.
echo "$stamp_id" > "$stamp.start"

# The number of steps (lines of `make` output: CC, RUSTC, LD, ...) of a full build, recorded
# after one, for the percentage; the first full build on a machine uses this estimate.
steps_file=$build/.mana-rs-full-build-steps
full_steps=$(cat "$steps_file" 2> /dev/null || echo 2650)
fresh=0
[ -f "$build/vmlinux" ] || fresh=1

info "building the test kernel in $build (log: $log)"
start=$(date +%s)
echo "=== build started $(date -u +%FT%TZ) ===" >> "$log"
mark=$(wc -l < "$log")
kmake bzImage modules >> "$log" 2>&1 &
pid=$!
while kill -0 "$pid" 2> /dev/null; do
	for _ in $(seq 30); do
		sleep 1
		kill -0 "$pid" 2> /dev/null || break
	done
	kill -0 "$pid" 2> /dev/null || break
	done_steps=$(( $(wc -l < "$log") - mark ))
	if [ $fresh -eq 1 ]; then
		pct=$(( done_steps * 100 / full_steps ))
		[ $pct -le 99 ] || pct=99
		info "  $(( $(date +%s) - start )) s: $done_steps of about $full_steps build steps ($pct%)"
	else
		info "  $(( $(date +%s) - start )) s: $done_steps build steps (incremental)"
	fi
done
if ! wait "$pid"; then
	# This build's errors only: the log keeps earlier builds above the mark.
	tail -n +"$mark" "$log" | grep -E 'error(\[E[0-9]+\])?:|Error [0-9]|ERROR:|undefined' -A12 | head -n 80 >&2 ||
		tail -n 40 "$log" >&2
	die "the test kernel did not build (full log: $log)"
fi
[ $fresh -eq 0 ] || echo $(( $(wc -l < "$log") - mark )) > "$steps_file"
info "kernel built in $(( $(date +%s) - start )) s"
release=$(cat "$build/include/config/kernel.release")
modroot=$build/modroot
# Install the modules only when one changed (a warm run stays quick).
if [ ! -f "$modroot/.stamp" ] || [ -n "$(find "$build" -name '*.ko' -newer "$modroot/.stamp" -print -quit)" ]; then
	rm -rf "$modroot.tmp"
	kmake INSTALL_MOD_PATH="$modroot.tmp" INSTALL_MOD_STRIP=1 modules_install >> "$log" 2>&1 ||
		die "make modules_install failed (log: $log)"
	touch "$modroot.tmp/.stamp"
	rm -rf "$modroot" && mv "$modroot.tmp" "$modroot"
fi
for m in mana_gdma mana_eth mana_rdma; do
	find "$modroot/lib/modules/$release" -name "$m.ko*" | grep -q . || die "module $m.ko was not built"
done
mv "$stamp.start" "$stamp"
exit
}
