#!/bin/sh
# scripts/image/fetch-kernel.sh OUT: fetch and unpack the kernel, BusyBox
# and the dynamically linked userland of the image (LVM).
#
# The kernel is Debian's signed kernel, the package linux-image-amd64
# currently depends on; BusyBox is busybox-static; the userland is the
# packages listed in initramfs/packages (lvm2 and the libraries it needs).
# All come through the machine's own apt sources with `apt-get download`
# (nothing is installed) and are kept in OUT/debs, so a second build uses
# the cache.  Overrides:
#	KERNEL_DEB=path/to/linux-image-*.deb
#	BUSYBOX_DEB=path/to/busybox-static_*.deb
#	USERLAND_DEBS=dir   take the userland .debs from dir (one per package)
# Results:
#	OUT/kernel/      the kernel package unpacked (dpkg -x)
#	OUT/busybox/     busybox-static unpacked
#	OUT/userland/    every package of initramfs/packages unpacked together
#	OUT/kver         the kernel release, e.g. 6.1.0-57-amd64
set -eu

out=${1:?usage: fetch-kernel.sh OUT}
mkdir -p "$out/debs"
debs=$(cd "$out/debs" && pwd)

me=fetch-kernel
# shellcheck source=scripts/image/debs.sh
. "$(dirname "$0")/debs.sh"

if [ -n "${KERNEL_DEB:-}" ]; then
	kdeb=$KERNEL_DEB
else
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	    sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
	if [ -z "$kpkg" ]; then
		echo "fetch-kernel: cannot tell what linux-image-amd64 depends on" >&2
		exit 1
	fi
	kdeb=$(fetch "$kpkg")
fi
bdeb=${BUSYBOX_DEB:-$(fetch busybox-static)}

unpack "$out/kernel" "$kdeb"
unpack "$out/busybox" "$bdeb"

# The userland: one tree for all its packages, redone when any .deb changes.
pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
    "$(dirname "$0")/../../initramfs/packages")
udebs=
# every candidate version from one apt-cache call (each call costs ~1 s)
# shellcheck disable=SC2086
[ -n "${USERLAND_DEBS:-}" ] || cands=$(apt-cache policy $pkgs 2>/dev/null |
    awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
	/^ *Candidate:/ { print p, $2 }')
for p in $pkgs; do
	if [ -n "${USERLAND_DEBS:-}" ]; then
		d=$(from_dir "$USERLAND_DEBS" "$p") || exit 1
	else
		d=$(fetch "$p" "$(echo "$cands" | awk -v p="$p" '$1 == p { print $2 }')")
	fi
	udebs="$udebs $d"
done
# shellcheck disable=SC2086
unpack "$out/userland" $udebs

kver=$(ls "$out/kernel/lib/modules" | head -n 1)
if [ -z "$kver" ] || [ ! -f "$out/kernel/boot/vmlinuz-$kver" ]; then
	echo "fetch-kernel: $kdeb holds no /boot/vmlinuz and /lib/modules" >&2
	exit 1
fi
[ -x "$out/busybox/bin/busybox" ] || {
	echo "fetch-kernel: $bdeb holds no /bin/busybox" >&2
	exit 1
}
echo "$kver" >"$out/kver"
echo "fetch-kernel: kernel $kver ($(basename "$kdeb")), $(basename "$bdeb")," \
    "$(echo "$pkgs" | wc -w) userland packages" >&2
