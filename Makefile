# SPDX-License-Identifier: GPL-2.0-only
#
# mana-rs developer entry points. Everything big lives in $(MANA_RS_CACHE) (default
# ~/.cache/mana-rs), outside the repository. This file is for users; the kernel build reads
# Kbuild and Kconfig.

export MANA_RS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mana-rs

.PHONY: help setup test run lint bench-build clean-build

help:
	@echo "make run          build and boot the kernel with mana-rs in QEMU, show the drivers on a software adapter"
	@echo "make test         build the KUnit kernel, run every suite in QEMU, print 'N passed, N failed'"
	@echo "make lint         rustfmt, clippy and rustdoc over the crates, warnings as errors"
	@echo "make bench-build  time a cold, a warm and an incremental 'make test'"
	@echo "make setup        install the toolchain and fetch the kernel (the targets above do it too)"

setup:
	@scripts/setup.sh

test: setup
	@scripts/kunit.sh

run: setup
	@scripts/run.sh

lint: setup
	@scripts/lint.sh

bench-build: setup
	@scripts/bench-build.sh

clean-build:
	rm -rf "$(MANA_RS_CACHE)/build"
