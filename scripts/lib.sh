# SPDX-License-Identifier: GPL-2.0-only
# Common settings for the mana-rs scripts. Source it; do not run it.

set -euo pipefail

MANA_RS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything big (kernel source, build trees, root filesystems) lives here, outside the repo.
MANA_RS_CACHE=${MANA_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mana-rs}
MANA_RS_JOBS=${MANA_RS_JOBS:-$(nproc)}

# The toolchain pieces setup.sh installs.
BINDGEN_VERSION=0.72.1
LIBCLANG_VERSION=18.1.1
export PATH="$HOME/.cargo/bin:$PATH"

die() {
	printf 'mana-rs: error: %s\n' "$*" >&2
	exit 1
}

warn() {
	printf 'mana-rs: warning: %s\n' "$*" >&2
}

info() {
	printf 'mana-rs: %s\n' "$*" >&2
}

# Runs a command as root: directly, or through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "'$*' needs root: run as root or install sudo"
	fi
}

# Reads key=value from kernel.lock.
lock_value() {
	sed -n "s/^$1=//p" "$MANA_RS_REPO/kernel.lock"
}

# The Debian version actually in use (the locked one, or the fallback chosen at download).
kernel_version() {
	if [ -f "$MANA_RS_CACHE/kernel-version" ]; then
		cat "$MANA_RS_CACHE/kernel-version"
	else
		lock_value version
	fi
}

kernel_tree() {
	echo "$MANA_RS_CACHE/src/linux-$(kernel_version)"
}

# Exports LIBCLANG_PATH for bindgen from the PyPI libclang package.
libclang_env() {
	if [ -z "${LIBCLANG_PATH:-}" ]; then
		LIBCLANG_PATH=$(python3 -c 'import clang, os; print(os.path.join(os.path.dirname(clang.__file__), "native"))' 2>/dev/null) || true
	fi
	[ -n "${LIBCLANG_PATH:-}" ] && [ -e "$LIBCLANG_PATH/libclang.so" ] ||
		die "libclang not found: run 'pip install libclang==$LIBCLANG_VERSION' (or set LIBCLANG_PATH to the directory holding libclang.so)"
	export LIBCLANG_PATH
}
