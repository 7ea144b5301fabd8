#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# rustfmt (check only), clippy and rustdoc over the mana-rs crates and abstractions, with
# warnings as errors, and the checks of the built objects (scripts/build-checks.sh: stack frames,
# objtool). Uses the test kernel's build directory, so only our crates are rebuilt; the drivers
# are also built without KUnit (a build directory of its own), warnings as errors.
# The cargo crates (wire/, model/ and those under tools/) get clippy and rustdoc the ordinary way
# too.

. "$(dirname "$0")/lib.sh"

libclang_env
tree=$(kernel_tree)
build=$MANA_RS_CACHE/build/kernel
failed=0

# rust/append holds fragments appended to tree files, not files of their own.
mapfile -t sources < <(cd "$MANA_RS_REPO" && git ls-files -co --exclude-standard '*.rs' ':!:rust/append/**' 2> /dev/null)
# Not a git checkout (a tarball, or git unusable here): every .rs file but the appended lines
# and build output.
[ ${#sources[@]} -gt 0 ] || mapfile -t sources < <(cd "$MANA_RS_REPO" &&
	find . \( -name .git -o -name target -o -path ./rust/append \) -prune -o -name '*.rs' -print | sed 's#^\./##' | sort)
[ ${#sources[@]} -gt 0 ] || die "rustfmt: no .rs file found in $MANA_RS_REPO"
info "rustfmt --check (${#sources[@]} files)"
(cd "$MANA_RS_REPO" && rustfmt --check --edition 2021 --config-path "$tree/.rustfmt.toml" "${sources[@]}") ||
	{ echo "rustfmt: run 'rustfmt --edition 2021 --config-path $tree/.rustfmt.toml <file>'"; failed=1; }

# The build must exist (configured) before clippy can run on our directory.
"$MANA_RS_REPO/scripts/kernel.sh"
info "stack frames and objtool (scripts/build-checks.sh)"
"$MANA_RS_REPO/scripts/build-checks.sh" || failed=1
exec 9> "$build/.lock"
flock 9

# Misuse the abstractions' types must reject, compiled against the kernel crate just built.
info "compile-fail cases of the abstractions (tests/compile-fail)"
(cd "$build" && python3 "$MANA_RS_REPO/scripts/compile-fail.py" \
	drivers/mana_rs/mana_eth/.mana_eth.o.cmd "$MANA_RS_REPO/tests/compile-fail" \
	"$build/mana-rs-compile-fail") || failed=1

info "clippy, warnings as errors"
# Clippy rebuilds the driver objects with other flags: the next kernel.sh must run make.
rm -f "$build/.mana-rs-built"
make -C "$tree" -s ARCH=x86_64 O="$build" -j"$MANA_RS_JOBS" CLIPPY=1 \
	MANA_RS_RUSTFLAGS=-Dwarnings drivers/mana_rs/ || failed=1

# What users build: the drivers as modules, without KUnit. Code that only tests use must not
# leave warnings there (the KUnit build above cannot see them).
if [ "${MANA_RS_LINT_NOKUNIT:-1}" = 0 ]; then
	info "skipping the build without KUnit (MANA_RS_LINT_NOKUNIT=0)"
else
	info "the drivers as modules without KUnit (a kernel build of its own), warnings as errors"
	if MANA_RS_KERNEL_VARIANT=nokunit "$MANA_RS_REPO/scripts/kernel.sh" > /dev/null; then
		mbuild=$MANA_RS_CACHE/build/kernel-nokunit
		(
			exec 9> "$mbuild/.lock"
			flock 9
			rm -f "$mbuild/.mana-rs-built"
			make -C "$tree" -s ARCH=x86_64 O="$mbuild" -j"$MANA_RS_JOBS" \
				MANA_RS_RUSTFLAGS=-Dwarnings drivers/mana_rs/
		) || failed=1
	else
		failed=1
	fi
fi

info "rustdoc of the kernel crate with the mana-rs abstractions, warnings as errors"
make -C "$tree" -s ARCH=x86_64 O="$build" -j"$MANA_RS_JOBS" rustdoc KRUSTFLAGS=-Dwarnings \
	> "$build/mana-rs-rustdoc.log" 2>&1 || { tail -n 30 "$build/mana-rs-rustdoc.log"; failed=1; }

# rustdoc of the crates with no mana-rs dependency: the rustc command line, turned into a rustdoc
# one. The crates that depend on another one of ours (mana_model, mana_gdma, the clients) are left
# out: rustdoc cannot load the metadata kbuild emits for their dependencies (E0463). Their
# documentation is linted by the build (-Wmissing_docs, -Wrustdoc::*), and wire/ and model/ get
# cargo rustdoc below.
for crate in wire/mana_wire; do
	cmd=$build/drivers/mana_rs/$(dirname $crate)/.$(basename $crate).o.cmd
	[ -f "$cmd" ] || continue
	info "rustdoc $crate"
	python3 "$MANA_RS_REPO/scripts/rustdoc-from-cmd.py" "$cmd" "$build/mana-rs-doc" |
		(cd "$build" && sh) || failed=1
done

# The host-side crates: ordinary cargo crates, built outside the repository.
for manifest in "$MANA_RS_REPO"/wire/Cargo.toml "$MANA_RS_REPO"/model/Cargo.toml \
	"$MANA_RS_REPO"/tools/*/Cargo.toml; do
	[ -f "$manifest" ] || continue
	info "clippy and rustdoc of ${manifest#"$MANA_RS_REPO"/}, warnings as errors"
	CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target cargo clippy --quiet --locked --all-targets \
		-j "$MANA_RS_JOBS" --manifest-path "$manifest" -- -D warnings || failed=1
	CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target RUSTDOCFLAGS=-Dwarnings cargo doc --quiet \
		--locked --no-deps -j "$MANA_RS_JOBS" --manifest-path "$manifest" || failed=1
done

# The abstractions as they would be posted (make patches): checkpatch --strict over every patch.
info "checkpatch --strict over the patch series of rust/ (scripts/patches.sh)"
"$MANA_RS_REPO/scripts/patches.sh" lint || failed=1

[ $failed -eq 0 ] || die "lint failed"
info "lint clean"
