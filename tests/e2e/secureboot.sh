#!/bin/sh
# tests/e2e/secureboot.sh: the ISO under UEFI with Secure Boot enforced
# (run-qemu.sh -s: Debian's OVMF build that verifies images, Microsoft's
# keys enrolled), against an expired kubeadm disk.
#   1. The ISO from the CD drive (renew) and as a USB stick written with
#      dd (check) each reach exactly one KRESCUE-RESULT line: shim, GRUB
#      and the kernel passed verification.  The kernel says Secure Boot is
#      on and that it is locked down, so only signed modules load; the disk
#      is found through modules (virtio_blk, ext4), so Debian's signed
#      modules did load.  The renewed disk is read back.
#   2. Must fail: the same ISO with GRUB's signature stripped
#      (osslsigncode) is refused by shim, and an ISO from grub-mkrescue
#      (unsigned GRUB, how the ISO was built before) is refused by the
#      firmware; neither reaches a result.  Each is stopped as soon as the
#      refusal shows on the console.  Control: the stripped ISO does reach
#      a result with Secure Boot off, so the signature is all it lacks.
# The firmware runs its variable store in SMM, slow under TCG: each boot
# has SB_TIMEOUT seconds (default 300), each refusal REFUSE_TIMEOUT
# (default 180); wall times are printed.
. "$(dirname "$0")/../lib.sh"
require_krescue

SB_TIMEOUT=${SB_TIMEOUT:-300}
REFUSE_TIMEOUT=${REFUSE_TIMEOUT:-180}
ovmf=/usr/share/OVMF
t_start=$(date +%s)
if ! command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    [ ! -f $ovmf/OVMF_CODE_4M.secboot.fd ] || [ ! -f $ovmf/OVMF_VARS_4M.ms.fd ]; then
	sh scripts/install-pkgs.sh qemu-system-x86 ovmf >/dev/null 2>&1
fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    [ ! -f $ovmf/OVMF_CODE_4M.secboot.fd ] || [ ! -f $ovmf/OVMF_VARS_4M.ms.fd ]; then
	skip "Secure Boot" "qemu or OVMF's Secure Boot build cannot be installed"
	finish
fi
# osslsigncode strips the signature; grub-mkrescue makes the unsigned ISO
command -v osslsigncode >/dev/null 2>&1 && command -v grub-mkrescue >/dev/null 2>&1 &&
    [ -d /usr/lib/grub/x86_64-efi ] && command -v pkill >/dev/null 2>&1 ||
    sh scripts/install-pkgs.sh osslsigncode grub-common grub-efi-amd64-bin \
	grub-pc-bin xorriso mtools procps >/dev/null 2>&1
require_image

expired_disk "$TMP/disk.img"
boot() { qemu_boot "$SB_TIMEOUT" "$@"; }

# refused NAME PATTERN RUN-QEMU-ARGS...: a boot that must not get
# anywhere.  Stopped once the console shows PATTERN (the refusal, in
# $REFUSAL), else after REFUSE_TIMEOUT seconds; $RESULT and $SECS as boot.
refused() {
	r_name=$1 r_pat=$2
	shift 2
	cp "$TMP/disk.img" "$TMP/$r_name.img"
	r_start=$(date +%s)
	sh scripts/image/run-qemu.sh -t "$REFUSE_TIMEOUT" -d "$TMP/$r_name.img" "$@" \
	    </dev/null >"$TMP/$r_name.log" 2>&1 &
	r_pid=$!
	REFUSAL=
	while kill -0 "$r_pid" 2>/dev/null; do
		REFUSAL=$(tr -d '\r' <"$TMP/$r_name.log" | grep -a -o -E "$r_pat" |
		    head -n 1)
		if [ -n "$REFUSAL" ]; then
			# run-qemu.sh's child is timeout, which passes the
			# signal on to qemu; run-qemu.sh then cleans up
			pkill -TERM -P "$r_pid"
			break
		fi
		sleep 2
	done
	wait "$r_pid"
	r_rc=$?
	SECS=$(($(date +%s) - r_start))
	tr -d '\r' <"$TMP/$r_name.log" >"$TMP/$r_name.txt"
	RESULT=$(grep -a '^KRESCUE-RESULT: ' "$TMP/$r_name.txt")
	[ -n "$REFUSAL" ] ||
	    REFUSAL=$(grep -a -o -E "$r_pat" "$TMP/$r_name.txt" | head -n 1)
	echo "# $r_name: qemu exit $r_rc, stopped after ${SECS}s: ${REFUSAL:-no refusal seen}${RESULT:+; $RESULT}"
}

# secure_kernel NAME: the kernel's own word that Secure Boot is on (its
# early lines: loglevel=7 after the menu's `quiet`)
secure_kernel() {
	if grep -a -q 'secureboot: Secure boot enabled' "$TMP/$1.txt" &&
	    grep -a -q 'Kernel is locked down from EFI Secure Boot' "$TMP/$1.txt"; then
		pass "$1: kernel: Secure boot enabled, locked down"
	else
		fail "$1: kernel: Secure boot enabled, locked down" \
		    "$(grep -a -m 2 -i -E 'secure ?boot|lockdown' "$TMP/$1.txt" | tr '\n' ' ')"
	fi
}

# --- 1. the ISO, Secure Boot enforced ------------------------------------
# Entries 4-7 are on the serial port (mkiso.sh): 5 = renew, 6 = check.
app="krescue.settle=5 loglevel=7"
if ISO_DEFAULT=5 ISO_TIMEOUT=0 ISO_APPEND=$app \
    sh scripts/image/mkiso.sh "$TMP/renew.iso" >"$TMP/iso.log" 2>&1 &&
    ISO_DEFAULT=6 ISO_TIMEOUT=0 ISO_APPEND=$app \
    sh scripts/image/mkiso.sh "$TMP/check.iso" >>"$TMP/iso.log" 2>&1; then
	pass "make iso, shim + signed GRUB ($(wc -c <"$TMP/renew.iso") bytes)"
	boot sb-cd -s -c "$TMP/renew.iso"
	case $RESULT in
	"KRESCUE-RESULT: ok renewed"*) pass "ISO from CD, Secure Boot, renew: $RESULT (${SECS}s)" ;;
	*) fail "ISO from CD, Secure Boot, renew" "${RESULT:-no result line}" ;;
	esac
	[ "$NRESULT" = 1 ] && pass "sb-cd: exactly one result line" ||
	    fail "sb-cd: exactly one result line" "$NRESULT lines"
	secure_kernel sb-cd
	readback_check sb-cd

	cp "$TMP/check.iso" "$TMP/stick.img"
	boot sb-usb -s -b "$TMP/stick.img"
	case $RESULT in
	"KRESCUE-RESULT: ok check"*expired*) pass "ISO as a USB stick (dd), Secure Boot, check: $RESULT (${SECS}s)" ;;
	*) fail "ISO as a USB stick (dd), Secure Boot, check" "${RESULT:-no result line}" ;;
	esac
	[ "$NRESULT" = 1 ] && pass "sb-usb: exactly one result line" ||
	    fail "sb-usb: exactly one result line" "$NRESULT lines"
	secure_kernel sb-usb
else
	fail "make iso" "$(tail -n 1 "$TMP/iso.log")"
fi

# --- 2. unsigned GRUB: refused ---------------------------------------------
# (a) behind the signed shim: shim refuses it
signed=build/image/efi/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed
if [ -s "$signed" ] &&
    osslsigncode remove-signature -in "$signed" -out "$TMP/grub-unsigned.efi" \
	>"$TMP/strip.log" 2>&1 &&
    ISO_GRUB_EFI=$TMP/grub-unsigned.efi ISO_DEFAULT=6 ISO_TIMEOUT=0 ISO_APPEND=$app \
    sh scripts/image/mkiso.sh "$TMP/unsigned.iso" >>"$TMP/iso.log" 2>&1; then
	refused sb-unsigned-grub 'Verification failed: \(0x1A\) Security Violation' \
	    -s -c "$TMP/unsigned.iso"
	if [ -z "$RESULT" ] && [ -n "$REFUSAL" ]; then
		pass "unsigned GRUB behind shim, Secure Boot: shim says '$REFUSAL', no result (${SECS}s)"
	else
		fail "unsigned GRUB behind shim, Secure Boot" \
		    "${RESULT:-no result, but no refusal either}"
	fi
	boot sb-off-unsigned-grub -u -c "$TMP/unsigned.iso"
	if ! grep -a -q 'secureboot: Secure boot disabled' "$TMP/sb-off-unsigned-grub.txt"; then
		fail "control: the same ISO, Secure Boot off" \
		    "the kernel does not say 'Secure boot disabled' (${RESULT:-no result line})"
	else
		case $RESULT in
		"KRESCUE-RESULT: ok check"*) pass "control: the same ISO, Secure Boot off: $RESULT (${SECS}s)" ;;
		*) fail "control: the same ISO, Secure Boot off" "${RESULT:-no result line}" ;;
		esac
	fi
else
	fail "unsigned GRUB: strip the signature, make iso" \
	    "$(cat "$TMP/strip.log" "$TMP/iso.log" 2>/dev/null | tail -n 1)"
fi

# (b) grub-mkrescue's ISO, GRUB unsigned and no shim: the firmware refuses
O=$TMP/mkrescue
mkdir -p "$O/boot/grub" "$O/krescue"
cp build/vmlinuz build/krescue.initrd "$O/krescue/"
cat >"$O/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=0
menuentry krescue {
	linux /krescue/vmlinuz console=ttyS0,115200 panic=-1 krescue.action=check $app
	initrd /krescue/krescue.initrd
}
CFG
if grub-mkrescue -o "$TMP/mkrescue.iso" "$O" -- -volid KRESCUE >"$TMP/mkrescue.log" 2>&1; then
	refused sb-grub-mkrescue 'failed to load Boot[0-9A-F]* "UEFI QEMU DVD-ROM[^"]*" [^:]*: Access Denied' \
	    -s -c "$TMP/mkrescue.iso"
	if [ -z "$RESULT" ] && [ -n "$REFUSAL" ]; then
		pass "grub-mkrescue ISO, Secure Boot: the firmware refuses it (Access Denied), no result (${SECS}s)"
	else
		fail "grub-mkrescue ISO, Secure Boot" \
		    "${RESULT:-no result, but no refusal either}"
	fi
else
	fail "grub-mkrescue ISO" "$(tail -n 1 "$TMP/mkrescue.log")"
fi

echo "# secureboot: $(($(date +%s) - t_start))s in all"
finish
