#!/bin/sh
# scripts/mkdist.sh: build/dist/krescue-<version>.tar.gz (`make dist`).
#
# The release tarball: the static binary, the manual page, the textfile
# export units, the example alert rules, the README and docs, and the
# rescue image files when they were built (build/vmlinuz,
# build/krescue.initrd, build/krescue.iso: `make image iso` first; this
# script never builds them).  SHA256SUMS inside the tarball covers every
# file in it; build/dist/SHA256SUMS covers the tarball (and the .deb when
# `make deb` made one for this version).
#
# Reproducible: names sorted, owner 0:0, every mtime SOURCE_DATE_EPOCH
# (default: the last commit's time), gzip -n.
#
# Environment: KRESCUE (the binary, default build/krescue), DIST (output
# directory, default build/dist).
set -eu
cd "$(dirname "$0")/.."

krescue=${KRESCUE:-build/krescue}
version=$(cat VERSION)
name=krescue-$version
dist=${DIST:-build/dist}
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

if [ ! -x "$krescue" ]; then
	echo "mkdist: $krescue is not built (run make)" >&2
	exit 1
fi

stage=$dist/$name
rm -rf "$stage"
mkdir -p "$stage/docs"
install -m 0755 "$krescue" "$stage/krescue"
install -m 0644 docs/krescue.8 packaging/krescue-textfile.service \
    packaging/krescue-textfile.timer packaging/krescue-alerts.yml \
    README.md VERSION "$stage/"
for f in docs/*.md; do
	install -m 0644 "$f" "$stage/docs/"
done
images=
for f in vmlinuz krescue.initrd krescue.iso; do
	if [ -f "build/$f" ]; then
		install -m 0644 "build/$f" "$stage/$f"
		images="$images $f"
	fi
done
(cd "$stage" && find . -type f -printf '%P\n' | LC_ALL=C sort |
    xargs sha256sum) >"$dist/.SHA256SUMS.tmp"
mv "$dist/.SHA256SUMS.tmp" "$stage/SHA256SUMS"
chmod 0644 "$stage/SHA256SUMS"
find "$stage" -type d -exec chmod 0755 {} +

tarball=$dist/$name.tar.gz
LC_ALL=C tar -C "$dist" --sort=name --format=gnu --owner=0 --group=0 \
    --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -cf - "$name" |
    gzip -9n >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
rm -rf "$stage"

(
	cd "$dist"
	set -- "$name.tar.gz"
	for d in krescue_"${version}"_*.deb; do
		[ -f "$d" ] && set -- "$@" "$d"
	done
	sha256sum "$@" >SHA256SUMS
)
echo "$tarball ($(wc -c <"$tarball") bytes; images:${images:- none})"
