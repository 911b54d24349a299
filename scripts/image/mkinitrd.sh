#!/bin/sh
# scripts/image/mkinitrd.sh: build build/vmlinuz and build/krescue.initrd.
#
# Rootless and reproducible: the file list comes from initramfs/manifest,
# the BusyBox applet list and the module closure of initramfs/modules; it
# is sorted (LC_ALL=C), every entry is 0:0 with the mtime
# SOURCE_DATE_EPOCH (default: the last commit's time), written by our own
# newc writer (scripts/image/mkcpio.c, built with the host cc) and
# compressed with zstd -19 (COMPRESS=gzip or xz for those).  The same
# inputs give the same bytes.  zstd because the boot pays twice for the
# archive: the firmware loads it (slow under emulation and from USB: a
# smaller file loads sooner) and the kernel unpacks it (zstd unpacks
# several times faster than gzip or xz); -19 is 19% smaller than gzip -9.
#
# Dynamically linked programs (LVM) come from the Debian packages of
# initramfs/packages with their shared libraries (manifest `elf` lines).
#
# Environment: KRESCUE (default build/krescue), KERNEL_DEB, BUSYBOX_DEB,
# USERLAND_DEBS (see fetch-kernel.sh), SOURCE_DATE_EPOCH, COMPRESS=zstd|gzip|xz,
# HOSTCC.
set -eu
export LC_ALL=C

cd "$(dirname "$0")/../.."
repo=$(pwd)
build=$repo/build
img=$build/image
krescue=${KRESCUE:-$build/krescue}
case $krescue in /*) ;; *) krescue=$repo/$krescue ;; esac
compress=${COMPRESS:-zstd}
start=$(date +%s)

[ -x "$krescue" ] || { echo "mkinitrd: $krescue is not built (make)" >&2; exit 1; }
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
case $SOURCE_DATE_EPOCH in
'' | *[!0-9]*) echo "mkinitrd: bad SOURCE_DATE_EPOCH" >&2; exit 100 ;;
esac
for tool in depmod modprobe; do
	command -v $tool >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
done
command -v depmod >/dev/null 2>&1 || sh scripts/install-pkgs.sh kmod
case $compress in
zstd) command -v zstd >/dev/null 2>&1 || sh scripts/install-pkgs.sh zstd ;;
xz) command -v xz >/dev/null 2>&1 || sh scripts/install-pkgs.sh xz-utils ;;
esac

mkdir -p "$img"
sh scripts/image/fetch-kernel.sh "$img"
kver=$(cat "$img/kver")
kmods=$img/kernel/lib/modules/$kver

# The cpio writer, rebuilt when its source changes.
mkcpio=$img/mkcpio
if [ ! -x "$mkcpio" ] || [ -n "$(find scripts/image/mkcpio.c -newer "$mkcpio")" ]; then
	${HOSTCC:-cc} -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror \
	    -Wformat=2 -Wshadow -o "$mkcpio" scripts/image/mkcpio.c
fi

# --- module closure ----------------------------------------------------
# depmod needs modules.dep, which Debian's package does not ship; make it
# in a scratch copy (hard links), then resolve every listed module, plus
# the providers of its soft dependencies, with modprobe --show-depends.
full=$img/modfull
if [ ! -f "$full/lib/modules/$kver/modules.dep" ] ||
    [ "$(cat "$full/.kver" 2>/dev/null)" != "$kver" ]; then
	rm -rf "$full"
	mkdir -p "$full/lib/modules"
	cp -al "$kmods" "$full/lib/modules/$kver"
	depmod -b "$full" "$kver"
	echo "$kver" >"$full/.kver"
fi
fdir=$full/lib/modules/$kver
wanted=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' initramfs/modules)
deps() {
	for m in "$@"; do
		modprobe -d "$full" -S "$kver" --show-depends "$m" || {
			echo "mkinitrd: module $m: not in kernel $kver" >&2
			return 1
		}
	done
}
# shellcheck disable=SC2086
deps $wanted >"$img/deps.1"
names=$(awk '$1 == "insmod" { n = $2; sub(/.*\//, "", n); sub(/\.ko.*/, "", n);
    gsub(/-/, "_", n); print n }' "$img/deps.1" | sort -u)
soft=$(for n in $names; do
	sed -n "s/^softdep $n //p" "$fdir/modules.softdep"
done | tr ' ' '\n' | grep -v -e '^pre:$' -e '^post:$' -e '^$' | sort -u)
# shellcheck disable=SC2086
[ -z "$soft" ] || deps $soft >>"$img/deps.1"
awk '$1 == "insmod" { print $2 }' "$img/deps.1" | sort -u >"$img/closure"

mods=$img/modroot
rm -rf "$mods"
mkdir -p "$mods/lib/modules/$kver"
while read -r ko; do
	rel=${ko#"$fdir"/}
	mkdir -p "$mods/lib/modules/$kver/$(dirname "$rel")"
	cp "$ko" "$mods/lib/modules/$kver/$rel"
done <"$img/closure"
cp "$fdir/modules.order" "$fdir/modules.builtin" "$fdir/modules.builtin.modinfo" \
    "$mods/lib/modules/$kver/"
depmod -b "$mods" "$kver"
# keep the text indexes BusyBox and humans read; drop the binary ones
rm -f "$mods/lib/modules/$kver"/modules.*.bin \
    "$mods/lib/modules/$kver/modules.builtin.modinfo"

# --- dynamically linked programs (LVM) -------------------------------------
# An `elf PATH MODE SOURCE` manifest line is a file plus the shared
# libraries it needs (DT_NEEDED, transitively), taken from the unpacked
# userland (initramfs/packages) and put in /lib/x86_64-linux-gnu, plus
# its program interpreter (the dynamic loader) at the path it names.
ul=$img/userland
command -v readelf >/dev/null 2>&1 || sh scripts/install-pkgs.sh binutils
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
    -e "s|@REPO@|$repo|g" -e "s|@KRESCUE@|$krescue|g" \
    -e "s|@BUSYBOX@|$img/busybox/bin/busybox|g" \
    -e "s|@USERLAND@|$ul|g" initramfs/manifest >"$img/manifest"
libdir=/lib/x86_64-linux-gnu
# find_lib SONAME: the file of SONAME in the userland (symlinks followed)
find_lib() {
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib usr/lib; do
		if [ -e "$ul/$d/$1" ]; then
			readlink -f "$ul/$d/$1"
			return 0
		fi
	done
	return 1
}
# needed ELF: its DT_NEEDED sonames
needed() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}
elf_closure() {
	queue=$(awk '$1 == "elf" { print $4 }' "$img/manifest")
	: >"$img/elf.seen"
	for f in $queue; do
		[ -f "$f" ] || { echo "mkinitrd: $f: no such program" >&2; return 1; }
		interp=$(readelf -l "$f" |
		    sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
		[ -n "$interp" ] || continue
		# the loader itself is a library of libc; link the path it is
		# asked for to where it is put
		[ "$interp" = "$libdir/${interp##*/}" ] ||
		    echo "slink $interp 0777 $libdir/${interp##*/}"
		echo "${interp##*/}" >>"$img/elf.seen"
		src=$(find_lib "${interp##*/}") || {
			echo "mkinitrd: $f: no loader ${interp##*/} in the userland" >&2
			return 1
		}
		echo "file $libdir/${interp##*/} 0755 $src"
	done
	while [ -n "$queue" ]; do
		next=
		for f in $queue; do
			for so in $(needed "$f"); do
				grep -qxF "$so" "$img/elf.seen" && continue
				echo "$so" >>"$img/elf.seen"
				src=$(find_lib "$so") || {
					echo "mkinitrd: $f needs $so: in no package of initramfs/packages" >&2
					return 1
				}
				echo "file $libdir/$so 0755 $src"
				next="$next $src"
			done
		done
		queue=$next
	done
}
elf_closure >"$img/elf.list"

# --- the file list -------------------------------------------------------
list=$img/list
{
	sed -e 's/^elf /file /' "$img/manifest"
	cat "$img/elf.list"
	"$img/busybox/bin/busybox" --list-full | while read -r a; do
		case $a in
		*/*) echo "slink /$a 0777 /bin/busybox" ;;
		esac
	done
	(cd "$mods" && find lib -type f) | while read -r f; do
		echo "file /$f 0644 $mods/$f"
	done
} >"$list.raw"
# every parent directory, once, unless the manifest lists it
awk '{ print $2 }' "$list.raw" | while read -r p; do
	p=$(dirname "$p")
	while [ "$p" != / ]; do
		echo "dir $p 0755"
		p=$(dirname "$p")
	done
done | sort -u >"$list.dirs"
# manifest entries win over generated ones (first occurrence of a path)
cat "$list.raw" "$list.dirs" | awk '!seen[$2]++' | sort -k 2,2 >"$list"
dups=$(awk '{ print $2 }' "$list" | uniq -d)
[ -z "$dups" ] || { echo "mkinitrd: duplicate paths: $dups" >&2; exit 1; }
grep -q '^file /bin/busybox ' "$list"

# --- the archive -----------------------------------------------------------
tmp=$build/.krescue.initrd.$$
trap 'rm -f "$tmp"' EXIT
case $compress in
# one thread: multi-threaded zstd output differs from single-threaded
zstd) "$mkcpio" -t "$SOURCE_DATE_EPOCH" <"$list" |
	zstd -19 --single-thread -q -c >"$tmp" ;;
gzip) "$mkcpio" -t "$SOURCE_DATE_EPOCH" <"$list" | gzip -9 -n >"$tmp" ;;
xz) "$mkcpio" -t "$SOURCE_DATE_EPOCH" <"$list" |
	xz -9 --check=crc32 --threads=1 >"$tmp" ;;
*) echo "mkinitrd: COMPRESS=zstd|gzip|xz" >&2; exit 100 ;;
esac
mv -f "$tmp" "$build/krescue.initrd"
cp "$img/kernel/boot/vmlinuz-$kver" "$build/.vmlinuz.$$"
mv -f "$build/.vmlinuz.$$" "$build/vmlinuz"

size=$(wc -c <"$build/krescue.initrd")
nmod=$(wc -l <"$img/closure")
echo "build/vmlinuz: kernel $kver, $(wc -c <"$build/vmlinuz") bytes"
echo "build/krescue.initrd: $size bytes ($((size / 1024)) KiB, $compress)," \
    "$(wc -l <"$list") entries, $nmod modules, $(wc -l <"$img/elf.seen") shared libraries," \
    "$(($(date +%s) - start)) s"
if [ "$size" -ge $((16 * 1024 * 1024)) ]; then
	echo "mkinitrd: initrd is not below 16 MiB" >&2
	exit 1
fi
