#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Puts mana-rs into the kernel tree without copying it, so that an edit in the repository is
# what the next incremental build compiles:
#   - drivers/mana_rs is a symlink to the repository (Kbuild, Kconfig, the driver crates);
#   - every file under the repository's rust/kernel and rust/helpers that the tree lacks is
#     symlinked into the tree's rust/ (new abstractions);
#   - rust/patch/*.patch (unified diffs against the pristine tree, applied in name order) change
#     the tree's existing files where an addition is not at the end (a method of an existing
#     trait);
#   - rust/append/<path> holds lines appended to the tree's existing <path> (module lists,
#     bindings and helper includes); drivers/Makefile and drivers/Kconfig get one line each.
# Edited files are rebuilt from a pristine copy and only rewritten when their content changes,
# so running this again does not trigger a rebuild.

. "$(dirname "$0")/lib.sh"

tree=$(kernel_tree)
[ -f "$tree/.mana-rs-unpacked" ] || die "no kernel tree at $tree: run scripts/kernel-source.sh (make setup)"
pristine=$MANA_RS_CACHE/pristine/$(kernel_version)

ln -sfn "$MANA_RS_REPO" "$tree/drivers/mana_rs"

# The pristine copy of tree file $1, made on first use.
pristine_of() {
	local orig=$pristine/$1
	if [ ! -f "$orig" ]; then
		[ -f "$tree/$1" ] || die "the kernel tree has no $1"
		mkdir -p "$(dirname "$orig")"
		cp "$tree/$1" "$orig"
	fi
	echo "$orig"
}

# Files patched by rust/patch/*.patch (paths after "+++ b/").
patches=()
patched=()
if [ -d "$MANA_RS_REPO/rust/patch" ]; then
	while IFS= read -r -d '' p; do patches+=("$p"); done < <(find "$MANA_RS_REPO/rust/patch" -name '*.patch' -print0 | sort -z)
	if [ ${#patches[@]} -gt 0 ]; then
		mapfile -t patched < <(sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' "${patches[@]}" | sort -u)
	fi
fi

# The patched files, staged: their pristine copies with every patch applied in order.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for rel in "${patched[@]}"; do
	mkdir -p "$stage/$(dirname "$rel")"
	cp "$(pristine_of "$rel")" "$stage/$rel"
done
for p in "${patches[@]}"; do
	patch -s -p1 -d "$stage" --no-backup-if-mismatch -r - < "$p" || die "${p#$MANA_RS_REPO/} does not apply"
done

# The tree's file $1 as mana-rs has it (pristine, patched), written to file $2.
patched_copy() {
	if [ -f "$stage/$1" ]; then
		cp "$stage/$1" "$2"
	else
		cp "$(pristine_of "$1")" "$2"
	fi
}

# Writes $2 (a file) over tree file $1 if the content differs.
install_tree_file() {
	if cmp -s "$2" "$tree/$1"; then
		rm -f "$2"
	else
		mv "$2" "$tree/$1"
		info "updated $1"
	fi
}

# Appends $2 (a file) to the patched pristine copy of tree file $1, after a comment ($3: sed
# making it a comment in the file's language) that names $4 as the source.
append_to() {
	local rel=$1 extra=$2 label=$4 tmp
	tmp=$(mktemp)
	patched_copy "$rel" "$tmp"
	{ printf '\n/* mana-rs: appended from %s */\n' "$label" | sed "$3"; cat "$extra"; } >> "$tmp"
	install_tree_file "$rel" "$tmp"
}

comment_style() {
	case "$1" in
		*.rs) echo 's#^/\* \(.*\) \*/$#// \1#' ;;
		*Makefile | *Kconfig | *Kbuild) echo 's#^/\* \(.*\) \*/$#\# \1#' ;;
		*) echo 's#x#x#' ;;
	esac
}

# Driver hook-up.
hook=$(mktemp -d)
echo 'obj-$(CONFIG_MANA_RS_GDMA) += mana_rs/' > "$hook/Makefile"
echo 'source "drivers/mana_rs/Kconfig"' > "$hook/Kconfig"
append_to drivers/Makefile "$hook/Makefile" "$(comment_style Makefile)" scripts/prepare-tree.sh
append_to drivers/Kconfig "$hook/Kconfig" "$(comment_style Kconfig)" scripts/prepare-tree.sh
rm -rf "$hook"

# Appended lines.
if [ -d "$MANA_RS_REPO/rust/append" ]; then
	while IFS= read -r -d '' f; do
		rel=${f#$MANA_RS_REPO/rust/append/}
		[ -f "$tree/$rel" ] || [ -f "$pristine/$rel" ] || die "rust/append/$rel: the kernel tree has no $rel"
		append_to "$rel" "$f" "$(comment_style "$rel")" "rust/append/$rel"
	done < <(find "$MANA_RS_REPO/rust/append" -type f -print0 | sort -z)
fi

# Patched files with nothing appended.
for rel in "${patched[@]}"; do
	[ -f "$MANA_RS_REPO/rust/append/$rel" ] && continue
	tmp=$(mktemp)
	patched_copy "$rel" "$tmp"
	install_tree_file "$rel" "$tmp"
done

# Files appended to before whose append source is gone: back to pristine.
if [ -d "$pristine" ]; then
	while IFS= read -r -d '' orig; do
		rel=${orig#$pristine/}
		case "$rel" in drivers/Makefile | drivers/Kconfig) continue ;; esac
		[ -f "$MANA_RS_REPO/rust/append/$rel" ] && continue
		printf '%s\n' "${patched[@]}" | grep -qxF "$rel" && continue
		if ! cmp -s "$orig" "$tree/$rel"; then
			cp "$orig" "$tree/$rel.tmp" && mv "$tree/$rel.tmp" "$tree/$rel"
			info "restored $rel"
		fi
	done < <(find "$pristine" -type f -print0)
fi

# New files, symlinked.
for dir in kernel helpers; do
	[ -d "$MANA_RS_REPO/rust/$dir" ] || continue
	while IFS= read -r -d '' f; do
		rel=rust/${f#$MANA_RS_REPO/rust/}
		if [ -e "$tree/$rel" ] && [ ! -L "$tree/$rel" ]; then
			die "$rel exists in the kernel tree: change it through rust/append instead of shadowing it"
		fi
		mkdir -p "$(dirname "$tree/$rel")"
		[ "$(readlink "$tree/$rel" 2>/dev/null)" = "$f" ] || ln -sfn "$f" "$tree/$rel"
	done < <(find "$MANA_RS_REPO/rust/$dir" -type f -print0)
done

# Symlinks left behind by files removed from the repository.
find "$tree/rust" -type l -lname "$MANA_RS_REPO/*" ! -exec test -e {} \; -print -delete | sed 's/^/mana-rs: removed stale link /' >&2 || true
