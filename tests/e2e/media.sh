#!/bin/sh
# tests/e2e/media.sh: boot the rescue image the way operators do, not
# with -kernel/-initrd: the hybrid ISO from the CD drive under BIOS
# (renew) and under UEFI/OVMF (check), the same ISO as a USB stick
# written with dd under BIOS (renew), and over the network with iPXE and
# qemu's TFTP (renew).  Each against an expired kubeadm disk; renewed
# disks are read back and must pass `krescue check`.  Two ISO builds of
# the same inputs must be byte-identical.  Secure Boot:
# tests/e2e/secureboot.sh.
. "$(dirname "$0")/../lib.sh"
require_krescue

BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
require_qemu media ipxe-qemu ovmf
require_image

expired_disk "$TMP/disk.img"
boot() { qemu_boot "$BOOT_TIMEOUT" "$@"; }

# ISO: entries 0-3 on the screen, 4-7 on the serial port (mkiso.sh):
# 5 = renew, 6 = check.
if ISO_DEFAULT=5 ISO_TIMEOUT=0 ISO_APPEND=krescue.settle=5 \
    sh scripts/image/mkiso.sh "$TMP/renew.iso" >"$TMP/iso.log" 2>&1 &&
    ISO_DEFAULT=6 ISO_TIMEOUT=0 ISO_APPEND=krescue.settle=5 \
    sh scripts/image/mkiso.sh "$TMP/check.iso" >>"$TMP/iso.log" 2>&1; then
	pass "make iso ($(wc -c <"$TMP/renew.iso") bytes)"
	# the same inputs give the same ISO, and a different menu another
	ISO_DEFAULT=5 ISO_TIMEOUT=0 ISO_APPEND=krescue.settle=5 \
	    sh scripts/image/mkiso.sh "$TMP/again.iso" >>"$TMP/iso.log" 2>&1
	if cmp -s "$TMP/renew.iso" "$TMP/again.iso" &&
	    ! cmp -s "$TMP/renew.iso" "$TMP/check.iso"; then
		pass "two ISO builds of the same inputs are byte-identical"
	else
		fail "ISO reproducible" "second build differs, or the menu change did not show"
	fi
	rm -f "$TMP/again.iso"
	boot iso-bios -c "$TMP/renew.iso"
	case $RESULT in
	"KRESCUE-RESULT: ok renewed"*) pass "ISO, BIOS, renew: $RESULT (${SECS}s)"
		readback_check iso-bios ;;
	*) fail "ISO, BIOS, renew" "${RESULT:-no result line}" ;;
	esac
	# the same bytes on a USB stick: GRUB's hybrid MBR, not El Torito
	cp "$TMP/renew.iso" "$TMP/stick.img"
	boot usb-bios -b "$TMP/stick.img"
	case $RESULT in
	"KRESCUE-RESULT: ok renewed"*) pass "ISO as a USB stick (dd), BIOS, renew: $RESULT (${SECS}s)"
		readback_check usb-bios ;;
	*) fail "ISO as a USB stick (dd), BIOS, renew" "${RESULT:-no result line}" ;;
	esac
	if [ -f /usr/share/ovmf/OVMF.fd ]; then
		boot iso-uefi -u -c "$TMP/check.iso"
		case $RESULT in
		"KRESCUE-RESULT: ok check"*expired*) pass "ISO, UEFI, check: $RESULT (${SECS}s)" ;;
		*) fail "ISO, UEFI, check" "${RESULT:-no result line}" ;;
		esac
	else
		skip "ISO, UEFI" "OVMF is not installed (sh scripts/install-pkgs.sh ovmf)"
	fi
else
	fail "make iso" "$(tail -n 1 "$TMP/iso.log")"
fi

# PXE: qemu's TFTP serves the directory, iPXE runs the script
if PXE_APPEND=krescue.settle=5 sh scripts/image/mkpxe.sh "$TMP/pxe" >"$TMP/pxe.log" 2>&1
then
	pass "make pxe: $(ls "$TMP/pxe" | tr '\n' ' ')"
	cp "$TMP/pxe/renew.ipxe" "$TMP/pxe/boot.ipxe"
	boot pxe -p "$TMP/pxe"
	case $RESULT in
	"KRESCUE-RESULT: ok renewed"*) pass "PXE (iPXE, TFTP), renew: $RESULT (${SECS}s)"
		readback_check pxe ;;
	*) fail "PXE (iPXE, TFTP), renew" "${RESULT:-no result line}" ;;
	esac
else
	fail "make pxe" "$(tail -n 1 "$TMP/pxe.log")"
fi

finish
