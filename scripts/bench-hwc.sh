#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Hardware-channel benchmark (figures, not a test): round trips per second against a software
# device answering every request after 50 µs (and after 1 ms, where the device latency rather
# than the per-request CPU cost under TCG dominates), with one request in flight (the C
# driver's depth) and with the device-reported depth, their ratio, and the adapter probe time.
# Runs the KUnit suite mana_rs_gdma_bench, which prints the figures and asserts nothing timed.

. "$(dirname "$0")/lib.sh"

"$MANA_RS_REPO/scripts/setup.sh"
MANA_RS_KUNIT_FILTER='mana_rs_gdma_bench' "$MANA_RS_REPO/scripts/kunit.sh" >/dev/null || true
grep -h 'bench: ' "$MANA_RS_CACHE/build/e2e/kunit-console.log" | sed 's/^.*bench: //'
