#!/bin/sh
# Make sure the Debian packages named on the command line are installed.
# As root: install what is missing with apt-get (once, idempotent).
# Otherwise: print the exact apt-get line and fail.
set -eu

missing=
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "krescue: missing Debian packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "krescue: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale or empty package index makes apt-get install fail; refresh it
# once if a package is unknown.
for p in $missing; do
	if ! apt-cache show "$p" >/dev/null 2>&1; then
		apt-get update -qq
		break
	fi
done
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
