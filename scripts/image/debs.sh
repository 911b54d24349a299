# scripts/image/debs.sh: sourced by fetch-kernel.sh and fetch-efi.sh, the
# two scripts that take Debian packages into the image without installing
# them.  The caller sets
#	debs	the cache directory of .deb files (absolute path)
#	me	the name its messages start with
# and gets fetch, from_dir and unpack.
# shellcheck shell=sh disable=SC2154

# fetch PACKAGE [VERSION]: the .deb of PACKAGE's candidate version (or
# VERSION), downloaded once through the machine's own apt sources; the
# version is in the file name, so a new candidate is a new download and
# an unchanged one is never fetched again.
fetch() {
	ver=${2:-$(apt-cache policy "$1" 2>/dev/null |
	    sed -n 's/^ *Candidate: *//p')}
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		echo "$me: no candidate for $1 (apt-get update?)" >&2
		return 1
	fi
	file=$(printf '%s_%s_amd64.deb' "$1" "$ver" | sed 's/:/%3a/')
	if [ ! -s "$debs/$file" ]; then
		echo "$me: apt-get download $1=$ver" >&2
		(cd "$debs" && apt-get download -q "$1=$ver" >&2)
	fi
	[ -s "$debs/$file" ] || {
		echo "$me: $debs/$file missing after download" >&2
		return 1
	}
	printf '%s\n' "$debs/$file"
}

# from_dir DIR PACKAGE: the one PACKAGE_*.deb in DIR (a given set of
# packages instead of downloads)
from_dir() {
	fd=$(ls "$1/$2"_*.deb 2>/dev/null | head -n 1)
	[ -n "$fd" ] || { echo "$me: no $2 in $1" >&2; return 1; }
	printf '%s\n' "$fd"
}

# unpack DIR DEB...: every DEB unpacked into DIR (dpkg -x), unless DIR
# already holds exactly those packages (their checksums, in DIR/.debs-sha256)
unpack() {
	u_dir=$1
	shift
	u_sum=$(for u_d in "$@"; do sha256sum "$u_d" | cut -d ' ' -f 1; done |
	    sha256sum | cut -d ' ' -f 1)
	if [ -f "$u_dir/.debs-sha256" ] &&
	    [ "$(cat "$u_dir/.debs-sha256")" = "$u_sum" ]; then
		return 0
	fi
	rm -rf "$u_dir"
	mkdir -p "$u_dir"
	for u_d in "$@"; do dpkg -x "$u_d" "$u_dir"; done
	echo "$u_sum" >"$u_dir/.debs-sha256"
}
