#!/bin/sh
# tests/e2e/media.sh: boot the rescue image the way operators do, not
# with -kernel/-initrd: the hybrid ISO from the CD drive under BIOS
# (renew) and under UEFI/OVMF (check), the same ISO as a USB stick
# written with dd under BIOS (renew), and over the network with iPXE and
# qemu's TFTP (renew).  Each against an expired kubeadm disk; renewed
# disks are read back and must pass `krescue check`.  Secure Boot:
# tests/e2e/secureboot.sh.
. "$(dirname "$0")/../lib.sh"
require_krescue

BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh qemu-system-x86 ipxe-qemu ovmf >/dev/null 2>&1
fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	skip media "qemu-system-x86_64 cannot be installed"
	finish
fi
if [ ! -s build/vmlinuz ] || [ ! -s build/krescue.initrd ]; then
	sh scripts/image/mkinitrd.sh >"$TMP/mkinitrd.log" 2>&1 ||
	    { fail "make image" "$(tail -n 1 "$TMP/mkinitrd.log")"; finish; }
fi

T=$TMP/tree
mktree kubeadm "$T" --version 1.28.4 --expired --kubelet-finalize
mkdir -p "$T/etc/systemd/system"
truncate -s 64M "$TMP/disk.img"
mkfs.ext4 -q -L k8snode -d "$T" "$TMP/disk.img"

# boot NAME RUN-QEMU-ARGS...: with a fresh copy of the disk, $TMP/NAME.img
boot() {
	b_name=$1
	shift
	cp "$TMP/disk.img" "$TMP/$b_name.img"
	b_start=$(date +%s)
	sh scripts/image/run-qemu.sh -t "$BOOT_TIMEOUT" -d "$TMP/$b_name.img" "$@" \
	    </dev/null >"$TMP/$b_name.log" 2>&1
	b_rc=$?
	SECS=$(($(date +%s) - b_start))
	RESULT=$(tr -d '\r' <"$TMP/$b_name.log" | grep -a '^KRESCUE-RESULT: ')
	echo "# $b_name: qemu exit $b_rc after ${SECS}s: $RESULT"
}

readback_check() {
	mkdir -p "$TMP/$1.out"
	for d in etc var root; do
		debugfs -R "rdump /$d $TMP/$1.out" "$TMP/$1.img" >/dev/null 2>&1
	done
	run "$KRESCUE" check --root "$TMP/$1.out"
	if [ "$RC" = 0 ] && [ -f "$TMP/$1.out/etc/systemd/system/krescue-finish.service" ]; then
		pass "$1: disk read back: check exit 0, unit staged"
	else
		fail "$1: disk read back" "check exit $RC"
	fi
}

# ISO: entries 0-3 on the screen, 4-7 on the serial port (mkiso.sh):
# 5 = renew, 6 = check.
if ISO_DEFAULT=5 ISO_TIMEOUT=0 ISO_APPEND=krescue.settle=5 \
    sh scripts/image/mkiso.sh "$TMP/renew.iso" >"$TMP/iso.log" 2>&1 &&
    ISO_DEFAULT=6 ISO_TIMEOUT=0 ISO_APPEND=krescue.settle=5 \
    sh scripts/image/mkiso.sh "$TMP/check.iso" >>"$TMP/iso.log" 2>&1; then
	pass "make iso ($(wc -c <"$TMP/renew.iso") bytes)"
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
