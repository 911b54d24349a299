#!/bin/sh
# scripts/image/run-qemu.sh: boot the rescue image in qemu (TCG), serial
# console on stdout, and stop when the guest powers off.
#
#	run-qemu.sh [-t SECONDS] [-k KERNEL -i INITRD | -c ISO | -b STICK |
#	    -p PXEDIR] [-a "kernel parameters"] [-d DISK]... [-m MiB] [-n CPUS]
#	    [-u | -s]
#
# -k/-i boot the kernel directly (default build/vmlinuz and
# build/krescue.initrd); -c boots an ISO from the CD drive (BIOS); -b
# boots a USB stick (xHCI) holding the raw image STICK, e.g. a copy of
# the ISO as dd would write it; -p boots over the network from PXEDIR with
# qemu's built-in TFTP and iPXE.
# -u boots with UEFI firmware (OVMF) instead of SeaBIOS; -s with UEFI
# and Secure Boot enforced: Debian's OVMF build that verifies images
# (OVMF_CODE_4M.secboot.fd) with a fresh copy of its variable store that
# has Microsoft's keys enrolled and Secure Boot on (OVMF_VARS_4M.ms.fd),
# on a q35 machine with SMM, which that firmware needs to keep its
# variables out of the guest's reach.  SMM under TCG is slow: allow a
# few minutes.  -n is the number of virtual CPUs (default: the host's, at
# most 2; krescue makes its keys on every CPU, and qemu runs each virtual
# CPU on its own host thread).
# Each -d adds a virtio disk (raw).  -a is appended to
# "console=ttyS0,115200 panic=-1" (kernel boot only; the ISO and PXE
# configs carry their own).  The VM gets -no-reboot and a hard timeout
# (default 120 s, exit 124).  KVM is never used: on these machines
# /dev/kvm exists but does not boot (docs/rescue-image.md).
set -eu

cd "$(dirname "$0")/../.."
timeout_s=120 kernel=build/vmlinuz initrd=build/krescue.initrd
iso='' stick='' pxe='' append='' mem=512 disks='' uefi='' secure=''
cpus=$(nproc 2>/dev/null || echo 1)
[ "$cpus" -gt 2 ] && cpus=2
while getopts t:k:i:c:b:p:a:d:m:n:us opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	c) iso=$OPTARG ;;
	b) stick=$OPTARG ;;
	p) pxe=$OPTARG ;;
	a) append=$OPTARG ;;
	d) disks="$disks -drive file=$OPTARG,format=raw,if=virtio" ;;
	m) mem=$OPTARG ;;
	n) cpus=$OPTARG ;;
	u) uefi=/usr/share/ovmf/OVMF.fd secure='' ;;
	s) secure=/usr/share/OVMF uefi='' ;;
	*) echo "usage: run-qemu.sh [-t S] [-k K -i I | -c ISO | -b STICK | -p DIR] [-a ARGS] [-d DISK]... [-m MiB] [-n CPUS] [-u | -s]" >&2
	   exit 100 ;;
	esac
done
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    sh scripts/install-pkgs.sh qemu-system-x86 ipxe-qemu >&2

machine=pc
[ -z "$secure" ] || machine=q35,smm=on
set -- -machine "$machine" -accel tcg -m "$mem" -smp "$cpus" -nographic -no-reboot \
    -serial mon:stdio -monitor none -nodefaults -vga none
if [ -n "$uefi" ]; then
	[ -f "$uefi" ] || sh scripts/install-pkgs.sh ovmf >&2
	set -- "$@" -bios "$uefi"
fi
vars=''
if [ -n "$secure" ]; then
	[ -f "$secure/OVMF_VARS_4M.ms.fd" ] || sh scripts/install-pkgs.sh ovmf >&2
	# the firmware writes its variables: never into the package's file
	vars=$(mktemp "${TMPDIR:-/tmp}/krescue-vars.XXXXXX")
	trap 'rm -f "$vars"' EXIT
	cp "$secure/OVMF_VARS_4M.ms.fd" "$vars"
	set -- "$@" -global driver=cfi.pflash01,property=secure,value=on \
	    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$secure/OVMF_CODE_4M.secboot.fd" \
	    -drive "if=pflash,format=raw,unit=1,file=$vars"
fi
if [ -n "$iso" ]; then
	set -- "$@" -cdrom "$iso" -boot d
elif [ -n "$stick" ]; then
	set -- "$@" -device qemu-xhci \
	    -drive "if=none,id=stick,format=raw,file=$stick" \
	    -device usb-storage,drive=stick,bootindex=0
elif [ -n "$pxe" ]; then
	set -- "$@" -boot n -netdev "user,id=n0,tftp=$pxe,bootfile=boot.ipxe" \
	    -device virtio-net-pci,netdev=n0
else
	set -- "$@" -kernel "$kernel" -initrd "$initrd" \
	    -append "console=ttyS0,115200 panic=-1 $append"
fi
[ -z "$pxe" ] && set -- "$@" -nic none
# not exec'd with a copy of the variable store: the EXIT trap removes it
# shellcheck disable=SC2086
[ -n "$vars" ] || exec timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "$@" $disks
# shellcheck disable=SC2086
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "$@" $disks
