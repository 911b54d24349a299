#!/bin/sh
# scripts/image/fetch-efi.sh OUT: fetch and unpack the signed UEFI boot
# chain of the ISO, the one Debian's own installer media use:
#	shim-signed			shimx64.efi.signed: shim, signed by
#					Microsoft's UEFI CA (2011 and 2023)
#	shim-helpers-amd64-signed	mmx64.efi.signed: MokManager, which
#					shim starts when GRUB fails to verify
#	grub-efi-amd64-signed		gcdx64.efi.signed: GRUB for CDs,
#					monolithic, signed by Debian
# Like fetch-kernel.sh: the candidate versions through the machine's own
# apt sources with `apt-get download` (nothing is installed), cached in
# OUT/debs; EFI_DEBS=dir takes the .debs from dir instead.
# Result: OUT/efi/ with the three packages unpacked together (redone when
# any .deb changes) and OUT/efi/versions naming them.
set -eu

out=${1:?usage: fetch-efi.sh OUT}
mkdir -p "$out/debs"
debs=$(cd "$out/debs" && pwd)
me=fetch-efi
# shellcheck source=scripts/image/debs.sh
. "$(dirname "$0")/debs.sh"

pkgs="shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed"
edebs=
for p in $pkgs; do
	if [ -n "${EFI_DEBS:-}" ]; then
		d=$(from_dir "$EFI_DEBS" "$p") || exit 1
	else
		d=$(fetch "$p")
	fi
	edebs="$edebs $d"
done
# shellcheck disable=SC2086
unpack "$out/efi" $edebs
for d in $edebs; do basename "$d" .deb; done >"$out/efi/versions"
for f in usr/lib/shim/shimx64.efi.signed usr/lib/shim/mmx64.efi.signed \
    usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed; do
	[ -s "$out/efi/$f" ] || { echo "$me: no /$f in the packages" >&2; exit 1; }
done
echo "$me: $(tr '\n' ' ' <"$out/efi/versions")" >&2
