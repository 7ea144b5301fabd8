#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Rust abstractions of rust/ as format-patch series against the pinned kernel
# (scripts/patches.py says which patch takes what).
#
#   patches.sh [write]   write the series to $MANA_RS_CACHE/build/patches (or
#                        $MANA_RS_PATCHES_OUT) and run checkpatch --strict over them (make patches)
#   patches.sh lint      the same into a temporary directory; fails on any checkpatch message
#                        (make lint)
#   patches.sh check     build the kernel after every patch, in order, from a pristine copy of the
#                        tree with nothing of mana-rs (make patches-check; slow: one kernel crate
#                        build per patch, plus a first full build of that tree)
#
# checkpatch runs with --ignore FILE_PATH_CHANGES: the new files are under rust/, which the
# RUST entry of MAINTAINERS covers (F: rust/).

. "$(dirname "$0")/lib.sh"

tree=$(kernel_tree)
[ -f "$tree/.mana-rs-unpacked" ] || die "no kernel tree at $tree: run scripts/kernel-source.sh (make setup)"
pristine=$MANA_RS_CACHE/pristine/$(kernel_version)
# The pristine copies of every file the series change exist once prepare-tree.sh has run.
"$MANA_RS_REPO/scripts/prepare-tree.sh"

checkpatch() {
	local out=$1 f msgs bad=0
	for f in "$out"/*/*.patch; do
		case $f in */0000-cover-letter.patch) continue ;; esac
		msgs=$(cd "$tree" && perl scripts/checkpatch.pl --strict --quiet --no-summary \
			--ignore FILE_PATH_CHANGES "$f" 2>&1) || true
		if [ -n "$msgs" ]; then
			printf '%s\n%s\n' "checkpatch: ${f#"$out"/}" "$msgs" >&2
			bad=1
		fi
	done
	return $bad
}

case ${1:-write} in
write)
	out=${MANA_RS_PATCHES_OUT:-$MANA_RS_CACHE/build/patches}
	python3 "$MANA_RS_REPO/scripts/patches.py" "$tree" "$pristine" "$MANA_RS_REPO" "$out"
	checkpatch "$out" || die "checkpatch --strict: see above"
	info "checkpatch --strict clean"
	;;
lint)
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
	python3 "$MANA_RS_REPO/scripts/patches.py" "$tree" "$pristine" "$MANA_RS_REPO" "$out/series" >/dev/null
	checkpatch "$out/series"
	;;
check)
	out=$MANA_RS_CACHE/build/patches-check
	src=$out/src
	build=$out/build
	mkdir -p "$out"
	python3 "$MANA_RS_REPO/scripts/patches.py" "$tree" "$pristine" "$MANA_RS_REPO" "$out/series" >/dev/null
	# A copy of the tree as it was unpacked: hard links for what mana-rs never changes, copies of
	# the files it does (prepare-tree.sh rewrites those in place in $tree).
	rm -rf "$src"
	cp -al "$tree" "$src"
	rm -f "$src/drivers/mana_rs"
	while IFS= read -r -d '' orig; do
		rel=${orig#"$pristine"/}
		rm -f "$src/$rel"
		cp "$orig" "$src/$rel"
	done < <(find "$pristine" -type f -print0)
	find "$src/rust" -type l -lname "$MANA_RS_REPO/*" -delete
	# The configuration of the test kernel, without mana-rs.
	mkdir -p "$build"
	[ -f "$build/.config" ] || cp "$MANA_RS_CACHE/build/kernel/.config" "$build/.config"
	make -C "$src" -s ARCH=x86_64 O="$build" olddefconfig >/dev/null
	step=0
	while read -r p; do
		step=$((step + 1))
		# patch(1) writes a new file and renames it over the old one, so the hard-linked tree stays
		# untouched.
		(cd "$src" && patch -s -p1 --no-backup-if-mismatch -i "$out/series/$p") ||
			die "$p does not apply"
		info "step $step: $p: building"
		if ! make -C "$src" -s ARCH=x86_64 O="$build" -j"$MANA_RS_JOBS" vmlinux \
			> "$out/step-$step.log" 2>&1; then
			tail -n 30 "$out/step-$step.log" >&2
			die "the kernel does not build after $p (log: $out/step-$step.log)"
		fi
	done < "$out/series/steps"
	info "every patch builds ($step steps)"
	;;
*)
	die "usage: $0 [write|lint|check]"
	;;
esac
