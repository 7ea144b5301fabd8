#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# rustfmt (check only), clippy and rustdoc over the mana-rs crates and abstractions, with
# warnings as errors. Uses the KUnit build directory, so only our crates are rebuilt.

. "$(dirname "$0")/lib.sh"

libclang_env
tree=$(kernel_tree)
build=$MANA_RS_CACHE/build/kunit
failed=0

mapfile -t sources < <(cd "$MANA_RS_REPO" && git ls-files -co --exclude-standard '*.rs')
info "rustfmt --check (${#sources[@]} files)"
(cd "$MANA_RS_REPO" && rustfmt --check --edition 2021 --config-path "$tree/.rustfmt.toml" "${sources[@]}") ||
	{ echo "rustfmt: run 'rustfmt --edition 2021 --config-path $tree/.rustfmt.toml <file>'"; failed=1; }

# The build must exist (configured) before clippy can run on our directory.
MANA_RS_BUILD_ONLY=1 "$MANA_RS_REPO/scripts/kunit.sh"
exec 9> "$build/.lock"
flock 9

info "clippy, warnings as errors"
make -C "$tree" -s ARCH=x86_64 O="$build" -j"$MANA_RS_JOBS" CLIPPY=1 \
	MANA_RS_RUSTFLAGS=-Dwarnings drivers/mana_rs/ || failed=1

info "rustdoc of the kernel crate with the mana-rs abstractions, warnings as errors"
make -C "$tree" -s ARCH=x86_64 O="$build" -j"$MANA_RS_JOBS" rustdoc KRUSTFLAGS=-Dwarnings \
	> "$build/mana-rs-rustdoc.log" 2>&1 || { tail -n 30 "$build/mana-rs-rustdoc.log"; failed=1; }

# rustdoc of the driver crates: their rustc command lines, turned into rustdoc ones.
for crate in gdma/mana_gdma mana_eth/mana_eth mana_ib/mana_rdma; do
	cmd=$build/drivers/mana_rs/$(dirname $crate)/.$(basename $crate).o.cmd
	[ -f "$cmd" ] || continue
	info "rustdoc $crate"
	python3 "$MANA_RS_REPO/scripts/rustdoc-from-cmd.py" "$cmd" "$build/mana-rs-doc" |
		(cd "$build" && sh) || failed=1
done

[ $failed -eq 0 ] || die "lint failed"
info "lint clean"
