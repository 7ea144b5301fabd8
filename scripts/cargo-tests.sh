#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The host-side crates: the kernel-independent wire and device model crates (wire/, model/;
# suites mana_rs_wire_host, mana_rs_model_host) and the crates under tools/ (the vfio-user
# server of the emulated PCI device, suite mana_rs_tools_<crate>): `cargo test` of each,
# printed as KTAP (one suite per crate, one case per test) for scripts/ktap.py.
# Build output in $MANA_RS_CACHE/cargo-target, dependencies as pinned in each Cargo.lock.
# Exits 1 if a crate did not build or a test failed.

. "$(dirname "$0")/lib.sh"

{
export CARGO_TARGET_DIR=$MANA_RS_CACHE/cargo-target
manifests=()
for m in "$MANA_RS_REPO"/wire/Cargo.toml "$MANA_RS_REPO"/model/Cargo.toml \
	"$MANA_RS_REPO"/tools/*/Cargo.toml; do
	[ -f "$m" ] && manifests+=("$m")
done
echo "KTAP version 1"
echo "1..${#manifests[@]}"
failed=0
for m in "${manifests[@]}"; do
	crate=$(basename "$(dirname "$m")")
	case $m in
	*/tools/*) suite=mana_rs_tools_${crate//-/_} ;;
	*) suite=mana_rs_${crate}_host ;;
	esac
	log=$(mktemp)
	rc=0
	cargo test --locked --manifest-path "$m" -j "$MANA_RS_JOBS" -- --test-threads=2 > "$log" 2>&1 || rc=$?
	echo "    KTAP version 1"
	echo "    # Subtest: $suite"
	# `test <name> ... ok|FAILED|ignored` lines become cases; everything else diagnostics.
	awk '
		/^test .* \.\.\. ok$/ { n++; sub(/^test /, ""); sub(/ \.\.\. ok$/, ""); cases[n] = "ok " n " " $0; next }
		/^test .* \.\.\. FAILED$/ { n++; sub(/^test /, ""); sub(/ \.\.\. FAILED$/, ""); cases[n] = "not ok " n " " $0; next }
		/^test .* \.\.\. ignored/ { n++; sub(/^test /, ""); sub(/ \.\.\. ignored.*$/, ""); cases[n] = "ok " n " " $0 " # SKIP ignored"; next }
		END { print "    1.." n; for (i = 1; i <= n; i++) print "    " cases[i] }
	' "$log"
	if [ $rc -ne 0 ]; then
		sed 's/^/    # /' "$log" | tail -n 40
		echo "not ok 1 $suite"
		failed=1
	else
		echo "ok 1 $suite"
	fi
	rm -f "$log"
done
exit $failed
}
