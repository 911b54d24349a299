#!/bin/sh
# scripts/image/run-qemu.sh: boot the rescue image in qemu (TCG), serial
# console on stdout, and stop when the guest powers off.
#
#	run-qemu.sh [-t SECONDS] [-k KERNEL -i INITRD | -c ISO | -p PXEDIR]
#	    [-a "kernel parameters"] [-d DISK]... [-m MiB] [-n CPUS] [-u]
#
# -k/-i boot the kernel directly (default build/vmlinuz and
# build/krescue.initrd); -c boots an ISO from the CD drive (BIOS); -p
# boots over the network from PXEDIR with qemu's built-in TFTP and iPXE.
# -u boots with UEFI firmware (OVMF) instead of SeaBIOS.  -n is the number
# of virtual CPUs (default: the host's, at most 2; krescue makes its keys
# on every CPU, and qemu runs each virtual CPU on its own host thread).
# Each -d adds a virtio disk (raw).  -a is appended to
# "console=ttyS0,115200 panic=-1" (kernel boot only; the ISO and PXE
# configs carry their own).  The VM gets -no-reboot and a hard timeout
# (default 120 s, exit 124).  KVM is never used: on these machines
# /dev/kvm exists but does not boot (docs/rescue-image.md).
set -eu

cd "$(dirname "$0")/../.."
timeout_s=120 kernel=build/vmlinuz initrd=build/krescue.initrd
iso='' pxe='' append='' mem=512 disks='' uefi=''
cpus=$(nproc 2>/dev/null || echo 1)
[ "$cpus" -gt 2 ] && cpus=2
while getopts t:k:i:c:p:a:d:m:n:u opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	c) iso=$OPTARG ;;
	p) pxe=$OPTARG ;;
	a) append=$OPTARG ;;
	d) disks="$disks -drive file=$OPTARG,format=raw,if=virtio" ;;
	m) mem=$OPTARG ;;
	n) cpus=$OPTARG ;;
	u) uefi=/usr/share/ovmf/OVMF.fd ;;
	*) echo "usage: run-qemu.sh [-t S] [-k K -i I | -c ISO | -p DIR] [-a ARGS] [-d DISK]..." >&2
	   exit 100 ;;
	esac
done
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    sh scripts/install-pkgs.sh qemu-system-x86 ipxe-qemu >&2

set -- -machine pc -accel tcg -m "$mem" -smp "$cpus" -nographic -no-reboot \
    -serial mon:stdio -monitor none -nodefaults -vga none
if [ -n "$uefi" ]; then
	[ -f "$uefi" ] || sh scripts/install-pkgs.sh ovmf >&2
	set -- "$@" -bios "$uefi"
fi
if [ -n "$iso" ]; then
	set -- "$@" -cdrom "$iso" -boot d
elif [ -n "$pxe" ]; then
	set -- "$@" -boot n -netdev "user,id=n0,tftp=$pxe,bootfile=boot.ipxe" \
	    -device virtio-net-pci,netdev=n0
else
	set -- "$@" -kernel "$kernel" -initrd "$initrd" \
	    -append "console=ttyS0,115200 panic=-1 $append"
fi
[ -z "$pxe" ] && set -- "$@" -nic none
# shellcheck disable=SC2086
exec timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "$@" $disks
