# SPDX-License-Identifier: GPL-2.0-only
#
# mana-rs developer entry points. Everything big lives in $(MANA_RS_CACHE) (default
# ~/.cache/mana-rs), outside the repository. This file is for users; the kernel build reads
# Kbuild and Kconfig.

export MANA_RS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mana-rs

.PHONY: help setup test test-full e2e selftests run shell lint patches patches-check bench-build clean-build \
	pci-smoke dpdk-smoke

help:
	@echo "make run          boot the module kernel on a Debian root filesystem in QEMU, walk the end-to-end scenario"
	@echo "make test         the KUnit suites and the end-to-end scenario in QEMU, print 'N passed, N failed'"
	@echo "                  (MANA_RS_E2E=0 skips the end-to-end part)"
	@echo "make test-full    make test plus the long versions of the loops (KUnit suites *_slow) and every selftest"
	@echo "make e2e          only the end-to-end scenario, asserted, 'N passed, N failed'"
	@echo "make selftests    only the kernel's driver selftests against mana_eth (tests/selftests/expected)"
	@echo "make shell        a root shell in the end-to-end guest"
	@echo "make lint         rustfmt, clippy and rustdoc over the crates, warnings as errors; checkpatch"
	@echo "make patches      the rust/ abstractions as format-patch series against the kernel (build/patches)"
	@echo "make patches-check  build the kernel after every patch of those series (slow)"
	@echo "make bench-build  time a cold, a warm and an incremental 'make test'"
	@echo "make pci-smoke    the MANA VF of tools/mana-vfio-user in QEMU 11.1 (vfio-user), checked from a guest"
	@echo "make dpdk-smoke   DPDK's testpmd and MANA PMD on that VF over mana-rs (the seed scenario)"
	@echo "make setup        install the toolchain and fetch the kernel (the targets above do it too)"

setup:
	@scripts/setup.sh

test: setup
	@scripts/kunit.sh

test-full: setup
	@MANA_RS_KUNIT_FULL=1 MANA_RS_SELFTESTS_FULL=1 scripts/kunit.sh

e2e: setup
	@console=$$(scripts/e2e.sh test) && python3 scripts/ktap.py "$$console"

selftests: setup
	@console=$$(scripts/e2e.sh selftests) && python3 scripts/ktap.py "$$console"

run: setup
	@scripts/e2e.sh run

shell: setup
	@scripts/e2e.sh shell

lint: setup
	@scripts/lint.sh

patches: setup
	@scripts/patches.sh write

patches-check: setup
	@scripts/patches.sh check

bench-build: setup
	@scripts/bench-build.sh

pci-smoke:
	@scripts/pci-smoke.sh

dpdk-smoke:
	@scripts/dpdk-smoke.sh

clean-build:
	rm -rf "$(MANA_RS_CACHE)/build"
