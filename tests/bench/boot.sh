#!/bin/sh
# tests/bench/boot.sh: the rescue image's size and speed, measured only.
#
# Builds the image if needed (make image), then boots the kubeadm 1.28.4
# case with every certificate expired, on ext4, BENCH_RUNS times (default 3)
# under TCG with krescue.action=renew, a fresh disk each time, with as many
# virtual CPUs as scripts/image/run-qemu.sh gives (the host's, at most 2).  Prints the
# initrd and kernel sizes and, per boot, the seconds from qemu's start to
# the KRESCUE-RESULT line on the console (stamped as the line arrives),
# where the time goes (console markers), and the guest's uptime at that
# line; then the medians and whether the goal (< 20 s) is met.  Nothing is
# asserted.  /init prints no uptime of its own, and with "quiet" the only
# kernel message after the early boot is "reboot: Power down" (an
# emergency-level message, always shown): its printk timestamp, minus the
# wall time between the result line and it, is the guest's uptime at the
# result; the wall time at it minus that timestamp is what passed before
# the kernel's clock started (SeaBIOS loading kernel and initrd, which is
# slow under TCG, and the kernel's decompression).
# BENCH_RUNS, BENCH_QUIET (below), BOOT_TIMEOUT (default 150 s per boot).
set -u
cd "$(dirname "$0")/../.." || exit 1
RUNS=${BENCH_RUNS:-3}
GOAL=${BENCH_GOAL:-20}
TIMEOUT=${BOOT_TIMEOUT:-150}
PYTHON=${PYTHON:-/usr/bin/python3}
# the media (ISO, PXE) boot with "quiet"; BENCH_QUIET=0 shows the kernel's
# messages (and so where the kernel's time goes), at some cost in console
# output
if [ "${BENCH_QUIET:-1}" = 1 ]; then QUIET=quiet; else QUIET=; fi
export LC_ALL=C TZ=UTC

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    sh scripts/install-pkgs.sh qemu-system-x86 >/dev/null 2>&1
command -v mkfs.ext4 >/dev/null 2>&1 ||
    sh scripts/install-pkgs.sh e2fsprogs >/dev/null 2>&1
if [ ! -s build/vmlinuz ] || [ ! -s build/krescue.initrd ]; then
	echo "boot bench: building the image (make image)"
	make image >/dev/null || { echo "boot bench: make image failed"; exit 1; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/krescue-bootbench.XXXXXX") || exit 1
trap 'if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi' EXIT
trap 'exit 130' INT TERM HUP

isize=$(stat -c %s build/krescue.initrd)
ksize=$(stat -c %s build/vmlinuz)
echo "initrd: build/krescue.initrd $isize bytes ($(awk -v b="$isize" 'BEGIN { printf "%.2f MB, %.2f MiB", b / 1e6, b / 1048576 }')); goal < 16 MiB"
echo "kernel: build/vmlinuz $ksize bytes ($(awk -v b="$ksize" 'BEGIN { printf "%.2f MB", b / 1e6 }'))"
echo "cores: $(nproc), qemu: $(qemu-system-x86_64 --version | head -n 1), accel tcg"

# The node tree is built once; each boot gets a fresh disk from it.
T=$TMP/tree
if ! $PYTHON tests/lib/mktree.py kubeadm "$T" --version 1.28.4 --expired \
    --kubelet-finalize >"$TMP/mktree.log" 2>&1; then
	echo "boot bench: mktree failed: $(tail -n 1 "$TMP/mktree.log")"
	exit 1
fi
mkdir -p "$T/etc/systemd/system/multi-user.target.wants"

# stamp T0: every console line prefixed with the seconds since T0 (the
# host's CLOCK_BOOTTIME, as /proc/uptime shows it), taken as the line
# arrives: Python reads the pipe line by line (mawk would read it in
# blocks and stamp everything at the end).
stamp() {
	$PYTHON -c '
import sys, time
t0 = float(sys.argv[1])
for raw in iter(sys.stdin.buffer.readline, b""):
    t = time.clock_gettime(time.CLOCK_BOOTTIME) - t0
    line = raw.decode("utf-8", "replace").replace("\r", "").rstrip("\n")
    sys.stdout.write("%.2f %s\n" % (t, line))
    sys.stdout.flush()
' "$1"
}

# mark ERE FILE: the stamp of the first line matching ERE
mark() { grep -E -m 1 "$1" "$2" | cut -d ' ' -f 1; }

echo "host load before the boots: $(cut -d ' ' -f 1-3 /proc/loadavg)"
# How fast this host runs qemu right now: a shared machine's speed varies
# by a third within an hour here, and every phase of the boot with it.
# The reference is the same kernel with an empty initramfs, from qemu's
# start until it panics for want of a root and qemu exits (panic=-1,
# -no-reboot): the firmware and kernel part no image can change.  The
# boot minus the reference is what the image itself takes.
printf '' | cpio -o -H newc --quiet 2>/dev/null >"$TMP/empty.cpio"
r0=$(cut -d ' ' -f 1 /proc/uptime)
sh scripts/image/run-qemu.sh -t 60 -i "$TMP/empty.cpio" -a quiet \
    </dev/null >"$TMP/ref.log" 2>&1
REF=$(awk -v t0="$r0" 'BEGIN { getline l < "/proc/uptime"; split(l, b, " ")
	printf "%.2f", b[1] - t0 }')
if grep -q 'Kernel panic' "$TMP/ref.log"; then
	echo "reference: the kernel alone, qemu start to its panic: ${REF}s"
else
	REF=
	echo "reference: the kernel alone did not panic as expected; not measured"
fi
i=1
: >"$TMP/walls"
: >"$TMP/guests"
: >"$TMP/firsts"
: >"$TMP/pres"
while [ "$i" -le "$RUNS" ]; do
	D=$TMP/disk$i.img
	rm -f "$D"
	truncate -s 64M "$D"
	mkfs.ext4 -q -L k8snode -d "$T" "$D"
	t0=$(cut -d ' ' -f 1 /proc/uptime)
	sh scripts/image/run-qemu.sh -t "$TIMEOUT" -d "$D" \
	    -a "$QUIET krescue.root=LABEL=k8snode krescue.action=renew krescue.settle=5" \
	    </dev/null 2>&1 | stamp "$t0" >"$TMP/boot$i.log"
	total=$(awk -v t0="$t0" 'BEGIN {
		getline l < "/proc/uptime"; split(l, b, " "); printf "%.2f", b[1] - t0 }')
	line=$(grep -m 1 ' KRESCUE-RESULT: ' "$TMP/boot$i.log")
	if [ -z "$line" ]; then
		echo "boot $i: no KRESCUE-RESULT line (qemu ran ${total}s; last: $(tail -n 1 "$TMP/boot$i.log" | cut -c 1-160))"
		i=$((i + 1))
		continue
	fi
	wall=${line%% *}
	result=${line#* }
	# the guest's clock, from the kernel's "[   20.455926] reboot: Power
	# down": "GUEST PRE", or nothing when the line is missing
	# shellcheck disable=SC2046
	set -- $(awk -v w="$wall" '/reboot: Power down/ &&
		match($0, /\[ *[0-9]+\.[0-9]+\]/) {
			k = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "", k)
			printf "%.2f %.2f\n", k - ($1 - w), $1 - k; exit }' \
	    "$TMP/boot$i.log")
	guest=${1:-} pre=${2:-}
	# where the time goes, by the console's own markers: /init's banner
	# (firmware and kernel done; it follows the firmware's "Booting from
	# ROM..." on the same line), the node's root found (drivers loaded,
	# disk settled, mounted), the new keys started and made, the result
	first=$(mark 'krescue: krescue [0-9]' "$TMP/boot$i.log")
	root=$(mark 'krescue: node root:' "$TMP/boot$i.log")
	keys=$(mark 'making [0-9]+ new keys?' "$TMP/boot$i.log")
	made=$(mark 'made [0-9]+ keys? in' "$TMP/boot$i.log")
	echo "boot $i: ${wall}s from qemu start to the result line (qemu exited after ${total}s)"
	echo "        /init banner at ${first:-?}s, node root found at ${root:-?}s, keys from ${keys:-?}s to ${made:-?}s, result at ${wall}s"
	if [ -n "$guest" ]; then
		echo "        guest uptime at the result line: ${guest}s (${pre}s passed before the kernel's clock started)"
	else
		echo "        guest uptime: not shown (no 'reboot: Power down' line)"
	fi
	echo "$first" >>"$TMP/firsts"
	echo "        $result"
	echo "$wall" >>"$TMP/walls"
	[ -n "$guest" ] && echo "$guest" >>"$TMP/guests"
	[ -n "$pre" ] && echo "$pre" >>"$TMP/pres"
	i=$((i + 1))
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		if (NR % 2) print v[(NR + 1) / 2]
		else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
m=$(median "$TMP/walls")
g=$(median "$TMP/guests")
n=$(wc -l <"$TMP/walls")
if [ -z "$m" ]; then
	echo "median: no boot reached KRESCUE-RESULT; goal < ${GOAL}s not measured"
	exit 0
fi
grep . "$TMP/firsts" >"$TMP/firsts.1"
f=$(median "$TMP/firsts.1")
p=$(median "$TMP/pres")
echo "median of $n boots: ${m}s from qemu start to KRESCUE-RESULT"
[ -n "$f" ] && echo "  of which ${f}s before the /init banner (firmware loading kernel and initrd, kernel boot)"
[ -n "$g" ] && echo "  guest uptime at the result line: ${g}s (${p}s before the kernel's clock started)"
[ -n "$REF" ] && echo "  minus the bare kernel's ${REF}s: $(awk -v m="$m" -v r="$REF" 'BEGIN { printf "%.2f", m - r }')s for the image's own work"
if awk -v m="$m" -v g="$GOAL" 'BEGIN { exit !(m < g) }'; then
	echo "goal < ${GOAL}s: met (${m}s)"
else
	echo "goal < ${GOAL}s: NOT met (${m}s)"
fi
exit 0
