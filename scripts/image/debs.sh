# scripts/image/debs.sh: sourced by fetch-kernel.sh and fetch-efi.sh, the
# two scripts that take Debian packages into the image without installing
# them.  The caller sets
#	debs	the cache directory of .deb files (absolute path)
#	me	the name its messages start with
# and gets fetch and unpack.
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

# unpack DEB DIR, unless DIR already holds exactly that DEB
unpack() {
	sum=$(sha256sum "$1" | cut -d ' ' -f 1)
	if [ -f "$2/.deb-sha256" ] && [ "$(cat "$2/.deb-sha256")" = "$sum" ]; then
		return 0
	fi
	rm -rf "$2"
	mkdir -p "$2"
	dpkg -x "$1" "$2"
	echo "$sum" >"$2/.deb-sha256"
}
