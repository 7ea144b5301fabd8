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

# Reads key=value from a lock file of the repository: $2, default kernel.lock.
lock_value() {
	sed -n "s/^$1=//p" "$MANA_RS_REPO/${2:-kernel.lock}"
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

# A private apt in directory $1 for the archive lines "$2" "$3" ... ("MIRROR SUITE main"): its own
# sources, lists, archive cache and an empty dpkg status, so that the machine's apt sources are
# never touched and apt resolves dependencies as for an empty system. Sets the array apt_opts
# (pass it to apt-get and apt-cache) and apt_dir.
private_apt() {
	apt_dir=$1
	shift
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/etc" "$apt_dir/state"
	: > "$apt_dir/state/status"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$keyring" ] || die "$keyring not found: install the Debian package debian-archive-keyring"
	printf "deb [signed-by=$keyring] %s\n" "$@" > "$apt_dir/etc/sources.list"
	apt_opts=(
		-o "APT::Architecture=amd64"
		-o "APT::Architectures::=amd64"
		-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::Etc::Preferences=/dev/null"
		-o "Dir::Etc::PreferencesParts=/dev/null"
		-o "Dir::State=$apt_dir/state"
		-o "Dir::State::Lists=$apt_dir/lists"
		-o "Dir::State::status=$apt_dir/state/status"
		-o "Dir::Cache::Archives=$apt_dir/archives"
		-o "Dir::Cache::pkgcache="
		-o "Dir::Cache::srcpkgcache="
		-o "Dir::Log=$apt_dir/state"
		-o "APT::Sandbox::User=$(id -un)"
		-o "Debug::NoLocking=1"
	)
}

# Fetches the package lists of the private apt (private_apt first).
private_apt_update() {
	apt-get "${apt_opts[@]}" -qq update ||
		die "cannot reach Debian's package archive ($(cut -d' ' -f3,4 "$apt_dir/etc/sources.list" | paste -sd,)): check the network or the apt proxy"
}

# Prints "name version" of every package the private apt would install for $@ on an empty
# system (no recommends), sorted.
private_apt_resolve() {
	local plan
	plan=$(apt-get "${apt_opts[@]}" -s --no-install-recommends install "$@" 2> "$apt_dir/resolve.err") ||
		{ cat "$apt_dir/resolve.err" >&2; die "apt cannot resolve: $*"; }
	awk '$1 == "Inst" { gsub(/[()]/, "", $3); print $2, $3 }' <<< "$plan" | sort
}

# Downloads into the private archive cache the packages of list file $1 ("name version" lines)
# that it lacks; apt verifies each against the signed lists.
private_apt_download() {
	local name version missing=()
	while read -r name version; do
		compgen -G "$apt_dir/archives/${name}_${version//:/%3a}_*.deb" > /dev/null || missing+=("$name=$version")
	done < "$1"
	if [ ${#missing[@]} -gt 0 ]; then
		info "downloading ${#missing[@]} of $(wc -l < "$1") packages"
		(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" -qq download "${missing[@]}") ||
			die "downloading packages failed: ${missing[*]}"
	fi
}

# The path of downloaded package $1 version $2 in the private archive cache.
private_apt_deb() {
	local f
	f=$(compgen -G "$apt_dir/archives/${1}_${2//:/%3a}_*.deb" | head -n 1)
	[ -n "$f" ] || die "downloaded package $1 $2 not found in $apt_dir/archives"
	echo "$f"
}
