#!/bin/sh
# scripts/mkdeb.sh: build/dist/krescue_<version>_<arch>.deb (`make deb`).
#
# A binary package made with dpkg-deb alone (no debhelper, no root):
# /usr/sbin/krescue, the manual page (gzip -9n), the textfile export units,
# the docs and the example alert rules.  Version from VERSION; every mtime
# is SOURCE_DATE_EPOCH (default: the last commit's time), so two builds of
# the same tree are byte-identical.
#
# Environment: KRESCUE (the binary, default build/krescue), OUT (directory
# for the .deb, default build/dist).
set -eu
cd "$(dirname "$0")/.."

krescue=${KRESCUE:-build/krescue}
out=${OUT:-build/dist}
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

if [ ! -x "$krescue" ]; then
	echo "mkdeb: $krescue is not built (run make)" >&2
	exit 1
fi
case $version in
[0-9]*) ;;
*)
	echo "mkdeb: VERSION '$version' does not start with a digit" >&2
	exit 1
	;;
esac

stage=build/deb/krescue
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/sbin" "$stage/usr/share/man/man8" \
    "$stage/usr/lib/systemd/system" "$stage/usr/share/doc/krescue/examples"

install -m 0755 "$krescue" "$stage/usr/sbin/krescue"
gzip -9n <docs/krescue.8 >"$stage/usr/share/man/man8/krescue.8.gz"
install -m 0644 packaging/krescue-textfile.service \
    packaging/krescue-textfile.timer "$stage/usr/lib/systemd/system/"
doc=$stage/usr/share/doc/krescue
install -m 0644 packaging/debian/copyright "$doc/copyright"
install -m 0644 README.md "$doc/README.md"
for f in runbook check renewal rescue-image fleet kubespray ha-and-workers \
    monitoring; do
	[ -f "docs/$f.md" ] && install -m 0644 "docs/$f.md" "$doc/$f.md"
done
install -m 0644 packaging/krescue-alerts.yml "$doc/examples/"
printf 'krescue (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- krescue developers <krescue@localhost>  %s\n' \
    "$version" "$version" \
    "$(date -u -d "@$SOURCE_DATE_EPOCH" '+%a, %d %b %Y %H:%M:%S +0000')" |
    gzip -9n >"$doc/changelog.gz"

# Installed-Size: KiB, as dpkg-gencontrol counts (each file rounded up).
size=$(find "$stage" -path "$stage/DEBIAN" -prune -o -type f -printf '%s\n' |
    awk '{ k += int(($1 + 1023) / 1024) } END { print k + 0 }')
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    packaging/debian/control.in >"$stage/DEBIAN/control"
for s in postinst prerm postrm; do
	install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
    LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/krescue_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb ($(wc -c <"$deb") bytes)"
