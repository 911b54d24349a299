#!/bin/sh
# Fetch the third-party source tarballs named in scripts/deps.lock into
# build/src/ and verify each against its pinned sha256.
#
# Order of sources for each tarball:
#   1. a local file named by $MBEDTLS_TARBALL / $LIBYAML_TARBALL;
#   2. Debian source packages, through the machine's own apt archives, with a
#      private apt state so the system's apt configuration is never touched;
#   3. the upstream release URL from the lock file.
# A tarball whose sha256 differs from the pin is refused, whatever its source.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
lock="$top/scripts/deps.lock"
srcdir=${KRESCUE_SRCDIR:-$top/build/src}
mkdir -p "$srcdir"

say() { printf 'deps: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

sha_ok() {	# file sha256
	[ -f "$1" ] || return 1
	[ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# Build a private apt state whose only entries are deb-src twins of the
# system's Debian archive entries, for the suites we take sources from.
aptdir=
apt_private() {
	[ -n "$aptdir" ] && return 0
	command -v apt-get >/dev/null 2>&1 || return 1
	aptdir=$(mktemp -d "${TMPDIR:-/tmp}/krescue-apt.XXXXXX")
	mkdir -p "$aptdir/lists/partial" "$aptdir/parts"
	: > "$aptdir/sources.list"
	uris=
	keyring=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822 stanzas: keep URIs of Types: deb stanzas whose suites
		# are Debian's (not -security, not third-party sources).
		awk '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; uris = ""; suites = ""; key = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^Types:/) types = $i
					if ($i ~ /^URIs:/) uris = $i
					if ($i ~ /^Suites:/) suites = $i
					if ($i ~ /^Signed-By:/) key = $i
				}
				if (types ~ /deb( |$)/ && suites ~ /(bookworm|trixie)( |$)/) {
					sub(/^URIs:[ \t]*/, "", uris)
					sub(/^Signed-By:[ \t]*/, "", key)
					print uris "|" key
				}
			}' "$f"
	done > "$aptdir/found"
	if [ -f /etc/apt/sources.list ]; then
		awk '$1 == "deb" && $0 !~ /security/ {
			u = ($2 ~ /^\[/) ? $3 : $2; print u "|" }' \
		    /etc/apt/sources.list >> "$aptdir/found"
	fi
	line=$(head -n 1 "$aptdir/found")
	[ -n "$line" ] || { say "no Debian archive found in the apt sources"; return 1; }
	uris=${line%%|*}
	keyring=${line#*|}
	{
		echo "Types: deb-src"
		echo "URIs: $uris"
		echo "Suites: trixie bookworm"
		echo "Components: main"
		[ -n "$keyring" ] && echo "Signed-By: $keyring"
	} > "$aptdir/parts/krescue-src.sources"
	set -- -o Dir::Etc::SourceList="$aptdir/sources.list" \
	    -o Dir::Etc::SourceParts="$aptdir/parts" \
	    -o Dir::State::Lists="$aptdir/lists" \
	    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
	    -o Debug::NoLocking=1
	say "reading Debian source indexes (private apt state)"
	apt-get -qq "$@" update >"$aptdir/update.log" 2>&1 ||
	    { say "apt-get update for sources failed:"; cat "$aptdir/update.log" >&2; return 1; }
	echo "$*" > "$aptdir/opts"
	return 0
}

apt_source() {	# package[=version] tarball-name
	apt_private || return 1
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(cat "$aptdir/opts")
	pkg=$1 want=$2
	shift 2
	mkdir -p "$aptdir/dl"
	(cd "$aptdir/dl" && apt-get -qq "$@" source --download-only "$pkg") \
	    >"$aptdir/source.log" 2>&1 ||
	    { say "apt-get source $pkg failed:"; tail -n 5 "$aptdir/source.log" >&2; return 1; }
	[ -f "$aptdir/dl/$want" ] || { say "apt-get source $pkg gave no $want"; return 1; }
	cp "$aptdir/dl/$want" "$srcdir/$want.part"
}

cleanup() { [ -n "$aptdir" ] && rm -rf "$aptdir"; return 0; }
trap cleanup EXIT INT TERM

grep -v '^#' "$lock" | while read -r name version file sha debsrc url; do
	[ -n "$name" ] || continue
	dest="$srcdir/$file"
	if sha_ok "$dest" "$sha"; then
		continue
	fi
	rm -f "$dest" "$dest.part"
	envvar=$(echo "$name" | tr 'a-z' 'A-Z')_TARBALL
	eval "local_tb=\${$envvar:-}"
	if [ -n "$local_tb" ]; then
		say "$name $version: from \$$envvar ($local_tb)"
		cp "$local_tb" "$dest.part" || die "cannot read $local_tb"
	elif say "$name $version: Debian source package $debsrc" &&
	    apt_source "$debsrc" "$file"; then
		:
	else
		say "$name $version: upstream release"
		if command -v curl >/dev/null 2>&1; then
			curl -fsSL -o "$dest.part" "$url" || die "cannot fetch $url"
		elif command -v wget >/dev/null 2>&1; then
			wget -q -O "$dest.part" "$url" || die "cannot fetch $url"
		else
			die "no way to fetch $name: set $envvar to a local tarball"
		fi
	fi
	got=$(sha256sum "$dest.part" | cut -d' ' -f1)
	if [ "$got" != "$sha" ]; then
		rm -f "$dest.part"
		die "$file: sha256 $got does not match the pin $sha in scripts/deps.lock; refusing it"
	fi
	mv "$dest.part" "$dest"
	say "$name $version: $file verified (sha256 $sha)"
done
