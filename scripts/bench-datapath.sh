#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Data-path benchmark (figures, not a test): packets per second of 64- and 1500-byte frames
# sent by mana_eth on one port of a software adapter and received on its linked port (TX
# through the device model, RSS, RX, NAPI, GRO), and device buffers allocated per packet in
# steady state; and frames per second an XDP program on the receiving port drops (XDP_DROP) or
# sends back to the sender (XDP_TX). Runs the KUnit suite mana_rs_eth_bench, which prints the
# figures and asserts nothing timed. The kernel runs under QEMU TCG: compare figures of one boot with each other,
# not with hardware.

. "$(dirname "$0")/lib.sh"

"$MANA_RS_REPO/scripts/setup.sh"
MANA_RS_KUNIT_FILTER='mana_rs_eth_bench' "$MANA_RS_REPO/scripts/kunit.sh" >/dev/null || true
grep -h 'bench: ' "$MANA_RS_CACHE/build/e2e/kunit-console.log" | sed 's/^.*bench: //'
