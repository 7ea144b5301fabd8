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

# Unpacks Debian package $2 of suite $3 with its dependency closure (as for an empty system, no
# recommends) into $1/root, unless it is there already, and checks that file $4 of it is
# executable. The host (Debian 12) lacks these tools or has them too old; the tree runs through
# its own dynamic loader, $1/root/usr/lib64/ld-linux-x86-64.so.2, against its own libraries
# (debian_tree_run). The private apt of private_apt keeps the machine's apt sources untouched;
# the package lists and archives are kept in $1/apt.
debian_tree() {
	local out=$1 package=$2 suite=$3 binary=$4
	[ -f "$out/.done" ] && return 0
	local top
	top=$(dirname "$out")
	mkdir -p "$top"
	(
		exec 9> "$out.lock"
		flock 9
		[ -f "$out/.done" ] && exit 0
		local start name version
		start=$(date +%s)
		private_apt "$out.apt" "$(lock_value mirror) $suite main"
		info "resolving $package from Debian $suite"
		private_apt_update
		private_apt_resolve "$package" > "$apt_dir/$package.list"
		private_apt_download "$apt_dir/$package.list"
		rm -rf "$out.tmp"
		mkdir -p "$out.tmp/root"
		while read -r name version; do
			dpkg-deb -x "$(private_apt_deb "$name" "$version")" "$out.tmp/root" ||
				die "unpacking $name $version failed"
		done < "$apt_dir/$package.list"
		rm -rf "$out.tmp/root/usr/share/"{doc,man,locale,lintian,bug}
		[ -x "$out.tmp/root/usr/lib64/ld-linux-x86-64.so.2" ] || die "the $package tree has no usr/lib64/ld-linux-x86-64.so.2"
		[ -x "$out.tmp/root/$binary" ] || die "the $package tree has no $binary"
		{
			echo "# $package, Debian $suite ($(lock_value mirror)), resolved $(date -u +%Y-%m-%dT%H:%MZ)"
			cat "$apt_dir/$package.list"
		} > "$out.tmp/manifest"
		touch "$out.tmp/.done"
		rm -rf "$out" && mv "$out.tmp" "$out"
		apt-get "${apt_opts[@]}" -qq autoclean > /dev/null 2>&1 || true
		info "$package unpacked in $(( $(date +%s) - start )) s: $(wc -l < "$apt_dir/$package.list") packages, $(du -sh "$out/root" | cut -f1)"
	) || exit 1
}

# Prints the command line that runs file $2 of the tree $1 of debian_tree, one word a line.
debian_tree_run() {
	local root=$1/root
	printf '%s\n' "$root/usr/lib64/ld-linux-x86-64.so.2" --library-path \
		"$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" "$root/$2"
}
