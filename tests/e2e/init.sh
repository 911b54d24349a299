#!/bin/sh
# tests/e2e/init.sh: initramfs/init's functions on the host, under BusyBox
# sh (KR_SOURCE_ONLY=1, side effects redirected): kernel parameter parsing
# (defaults, quoted and comma-separated krescue.args, bad values), device
# resolution (/dev, PARTUUID from a fake /sys, by-uuid paths, dm-N as
# /dev/mapper names), LVM activation, the reason of a refused renewal,
# main under a fake krescue (nothing to renew, refused renewal, check) and
# the result line printed once.
. "$(dirname "$0")/../lib.sh"

BB=build/image/busybox/bin/busybox
if [ ! -x "$BB" ]; then
	sh scripts/image/fetch-kernel.sh build/image >"$TMP/fetch.log" 2>&1 ||
	    { fail busybox "$(tail -n 1 "$TMP/fetch.log")"; finish; }
fi

# parse CMDLINE: print the parsed variables
parse() {
	printf '%s\n' "$1" >"$TMP/cmdline"
	KR_SOURCE_ONLY=1 KR_CMDLINE="$TMP/cmdline" KR_RUN=: "$BB" sh -c '
	    . ./initramfs/init
	    parse_cmdline >/dev/null
	    echo "root=$ROOTSPEC action=$ACTION on_error=$ON_ERROR settle=$SETTLE args=$ARGS break=$BREAK"'
}

check_parse() {
	got=$(parse "$2")
	[ "$got" = "$3" ] && pass "cmdline: $1" || fail "cmdline: $1" "got '$got'"
}
check_parse "defaults" "console=ttyS0 quiet" \
    "root= action=menu on_error=shell settle=10 args= break="
check_parse "renew defaults to poweroff on error" \
    "quiet krescue.action=renew krescue.root=LABEL=node krescue.settle=3" \
    "root=LABEL=node action=renew on_error=poweroff settle=3 args= break="
check_parse "comma-separated args" \
    "krescue.action=check krescue.args=--validity,8760h,--reuse-keys" \
    "root= action=check on_error=poweroff settle=10 args=--validity 8760h --reuse-keys break="
check_parse "quoted args with spaces" \
    'krescue.args="--validity 8760h --reuse-keys" krescue.action=renew' \
    "root= action=renew on_error=poweroff settle=10 args=--validity 8760h --reuse-keys break="
check_parse "quoted single word" 'krescue.args="--reuse-keys" krescue.break=mount' \
    "root= action=menu on_error=shell settle=10 args=--reuse-keys break=mount"
check_parse "must fail: bad action, on_error, settle fall back" \
    "krescue.action=format krescue.on_error=reboot krescue.settle=ten" \
    "root= action=menu on_error=poweroff settle=10 args= break="
check_parse "globs are not expanded" "krescue.args=* krescue.root=/dev/*" \
    "root=/dev/* action=menu on_error=shell settle=10 args=* break="

# resolve with a fake /sys
S=$TMP/sys
mkdir -p "$S/class/block/vda" "$S/class/block/vda2"
printf 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n' >"$S/class/block/vda/uevent"
printf 'MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTN=2\nPARTUUID=0fc63daf-8483-4772-8e79-3d69d8477de4\n' \
    >"$S/class/block/vda2/uevent"
res() {
	KR_SOURCE_ONLY=1 KR_SYS="$S" KR_RUN=echo "$BB" sh -c '
	    . ./initramfs/init; resolve "$1"' sh "$1"
}
[ "$(res PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4)" = /dev/vda2 ] &&
    pass "resolve PARTUUID= (any case) from uevent" ||
    fail "resolve PARTUUID=" "got '$(res PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4)'"
[ -z "$(res PARTUUID=00000000-0000-0000-0000-000000000000)" ] &&
    pass "must fail: unknown PARTUUID resolves to nothing" ||
    fail "must fail: unknown PARTUUID" "resolved"
[ "$(res /dev/disk/by-uuid/1234)" = "findfs UUID=1234" ] &&
    pass "resolve /dev/disk/by-uuid/ via findfs UUID=" ||
    fail "resolve /dev/disk/by-uuid/" "got '$(res /dev/disk/by-uuid/1234)'"
got=$(KR_SOURCE_ONLY=1 KR_SYS="$S" KR_RUN=: "$BB" sh -c '. ./initramfs/init; block_devices' | tr '\n' ' ')
[ "$got" = "/dev/vda /dev/vda2 " ] && pass "block devices from /sys" ||
    fail "block devices from /sys" "got '$got'"

# device-mapper devices by their /dev/mapper name (LVM logical volumes)
mkdir -p "$S/class/block/dm-0/dm"
echo krvg-root >"$S/class/block/dm-0/dm/name"
got=$(KR_SOURCE_ONLY=1 KR_SYS="$S" KR_RUN=: "$BB" sh -c '. ./initramfs/init; block_devices' | tr '\n' ' ')
[ "$got" = "/dev/mapper/krvg-root /dev/vda /dev/vda2 " ] &&
    pass "block devices: dm-N listed as /dev/mapper/NAME" ||
    fail "block devices: dm-N as /dev/mapper/NAME" "got '$got'"
rm -rf "$S/class/block/dm-0"

# LVM activation: vgscan --mknodes, then vgchange -ay, before every scan
got=$(KR_SOURCE_ONLY=1 "$BB" sh -c '. ./initramfs/init
    lvm() { echo "lvm $*" >&3; }; activate_lvm' 3>&1 >/dev/null | tr '\n' '|')
case $got in
"lvm vgscan --mknodes|lvm vgchange -ay --sysinit|") pass "activate_lvm: vgscan --mknodes, vgchange -ay" ;;
*) fail "activate_lvm" "got '$got'" ;;
esac
got=$(KR_SOURCE_ONLY=1 KR_RUN=: "$BB" sh -c '. ./initramfs/init
    lvm() { echo "  1 logical volume(s) in volume group \"vg0\" now active"; }
    RUN= activate_lvm; echo "active=$LVM_ACTIVE"' | tr '\n' '|')
[ "$got" = 'krescue: lvm: 1 logical volume(s) in volume group "vg0" now active|active=1|' ] &&
    pass "activate_lvm: reports what it activated" || fail "activate_lvm report" "got '$got'"

# coldplug: the drivers of the devices in /sys by modalias, each alias
# once; a device that shows up later (a disk behind a controller whose
# driver just loaded) gets its driver on the next call
S2=$TMP/sys2
mkdir -p "$S2/bus/pci/devices/0000:00:04.0" "$S2/bus/cpu/devices/cpu0"
echo 'pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00' \
    >"$S2/bus/pci/devices/0000:00:04.0/modalias"
echo 'cpu:type:x86,ven0002fam000Fmod006B:feature:,0000,0001' \
    >"$S2/bus/cpu/devices/cpu0/modalias"
cold() {
	KR_SOURCE_ONLY=1 KR_SYS="$S2" KR_RUN=echo KR_RUNDIR="$TMP/cold" "$BB" sh -c '
	    . ./initramfs/init; coldplug; echo "rc=$?"' | tr '\n' '|'
}
got=$(cold)
[ "$got" = "modprobe -qa cpu:type:x86,ven0002fam000Fmod006B:feature:,0000,0001 pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00|rc=0|" ] &&
    pass "coldplug: every device's modalias to modprobe -qa" ||
    fail "coldplug: first call" "got '$got'"
got=$(cold)
[ "$got" = "rc=1|" ] && pass "must fail: coldplug again with nothing new loads nothing" ||
    fail "coldplug: second call" "got '$got'"
mkdir -p "$S2/bus/virtio/devices/virtio0"
echo 'virtio:d00000002v00001AF4' >"$S2/bus/virtio/devices/virtio0/modalias"
got=$(cold)
[ "$got" = "modprobe -qa virtio:d00000002v00001AF4|rc=0|" ] &&
    pass "coldplug: a device that appeared later, and only it" ||
    fail "coldplug: new device" "got '$got'"

# load_modules: krescue.modules= first (all: the image's whole list, in
# order), then coldplug
got=$(KR_SOURCE_ONLY=1 KR_SYS="$TMP/nosys" KR_RUN=echo KR_RUNDIR="$TMP/lm" \
    KR_MODLIST=initramfs/modules "$BB" sh -c '. ./initramfs/init
    XMODULES="mptsas all"; load_modules' | tr '\n' ' ')
want="modprobe -q mptsas $(sed -e 's/#.*//' initramfs/modules | grep . | sed 's/^/modprobe -q /' | tr '\n' ' ')"
[ "$got" = "$want" ] && pass "krescue.modules=mptsas,all: that one, then the whole list in order" ||
    fail "krescue.modules=all" "got '$got'"
got=$(KR_SOURCE_ONLY=1 KR_SYS="$TMP/nosys" KR_RUN=echo KR_RUNDIR="$TMP/lm2" \
    KR_MODLIST=initramfs/modules "$BB" sh -c '. ./initramfs/init
    XMODULES=; load_modules' | tr '\n' ' ')
[ -z "$got" ] && pass "must fail: no krescue.modules and no devices load nothing" ||
    fail "load_modules without devices" "got '$got'"

# probe_fs: ext4, xfs, an LVM physical volume by their magic; nothing for
# a disk of zeros
truncate -s 8M "$TMP/ext4.img"
mkfs.ext4 -q -F "$TMP/ext4.img" >/dev/null 2>&1
truncate -s 300M "$TMP/xfs.img"
command -v mkfs.xfs >/dev/null 2>&1 || sh scripts/install-pkgs.sh xfsprogs >/dev/null 2>&1
mkfs.xfs -q -f "$TMP/xfs.img" >/dev/null 2>&1
truncate -s 1M "$TMP/pv.img" "$TMP/zero.img"
printf 'LABELONE' | dd of="$TMP/pv.img" bs=1 seek=512 conv=notrunc 2>/dev/null
probe() {
	KR_SOURCE_ONLY=1 "$BB" sh -c '. ./initramfs/init; probe_fs "$1"' sh "$1"
}
got="$(probe "$TMP/ext4.img") $(probe "$TMP/xfs.img") $(probe "$TMP/pv.img")"
[ "$got" = "ext4 xfs lvm2" ] && pass "probe_fs: ext4, xfs, LVM physical volume" ||
    fail "probe_fs" "got '$got'"
[ -z "$(probe "$TMP/zero.img")" ] && pass "must fail: probe_fs on zeros names no type" ||
    fail "probe_fs on zeros" "got '$(probe "$TMP/zero.img")'"

# mount_ro: the file system's module before the mount, with its type;
# an LVM physical volume is not mounted; an unknown type falls back to the
# fstab's type
mnt() {
	KR_SOURCE_ONLY=1 "$BB" sh -c '. ./initramfs/init
	    modprobe() { echo "modprobe $*"; }; mount() { echo "mount $*"; }
	    mount_ro "$@"; echo "rc=$?"' sh "$@" | tr '\n' '|'
}
got=$(mnt "$TMP/xfs.img" /mnt/x)
[ "$got" = "modprobe -q xfs|mount -o ro -t xfs $TMP/xfs.img /mnt/x|rc=0|" ] &&
    pass "mount_ro: xfs module, then mount -t xfs" || fail "mount_ro xfs" "got '$got'"
got=$(mnt "$TMP/ext4.img" /mnt/x)
[ "$got" = "modprobe -q crc32c_intel|modprobe -q crc32c_generic|modprobe -q ext4|mount -o ro -t ext4 $TMP/ext4.img /mnt/x|rc=0|" ] &&
    pass "mount_ro: crc32c providers and ext4, then mount -t ext4" ||
    fail "mount_ro ext4" "got '$got'"
got=$(mnt "$TMP/pv.img" /mnt/x)
[ "$got" = "rc=1|" ] && pass "must fail: mount_ro of an LVM physical volume" ||
    fail "mount_ro of a PV" "got '$got'"
got=$(mnt "$TMP/zero.img" /mnt/x vfat)
[ "$got" = "mount -o ro -t vfat $TMP/zero.img /mnt/x|rc=0|" ] &&
    pass "mount_ro: unknown magic uses the fstab's type" ||
    fail "mount_ro fallback" "got '$got'"

# lvm_scan: LVM runs when a physical volume shows up, once per set
got=$(KR_SOURCE_ONLY=1 KR_SYS="$S" "$BB" sh -c '. ./initramfs/init
    probe_fs() { [ "$1" = /dev/vda2 ] && echo lvm2; return 0; }
    modprobe() { echo "modprobe $*"; }; activate_lvm() { echo activate; }
    lvm_scan; lvm_scan; echo "pvs=$LVM_PVS"' | tr '\n' '|')
[ "$got" = "modprobe -q dm_mod|activate|pvs= /dev/vda2|" ] &&
    pass "lvm_scan: dm_mod and activation once for a new physical volume" ||
    fail "lvm_scan" "got '$got'"
got=$(KR_SOURCE_ONLY=1 KR_SYS="$S" "$BB" sh -c '. ./initramfs/init
    probe_fs() { return 0; }
    modprobe() { echo "modprobe $*"; }; activate_lvm() { echo activate; }
    lvm_scan; echo done' | tr '\n' '|')
[ "$got" = "done|" ] && pass "must fail: lvm_scan without a physical volume starts no lvm" ||
    fail "lvm_scan without PV" "got '$got'"

# the reason of a refused renewal, from krescue's stderr
printf 'krescue: renewing 15 certificates\nkrescue: refusing: apiserver: /etc/kubernetes/pki/apiserver.crt: corrupt certificate; nothing changed\n' \
    >"$TMP/renew.err"
got=$(KR_SOURCE_ONLY=1 "$BB" sh -c '. ./initramfs/init; why_from "$1"' sh "$TMP/renew.err")
[ "$got" = "apiserver: /etc/kubernetes/pki/apiserver.crt: corrupt certificate; nothing changed" ] &&
    pass "why_from: the last krescue message, without 'refusing:'" || fail "why_from" "got '$got'"

# main with a fake krescue: check 0 + renew -> nothing to renew, no
# read-write remount; check 3 + renew refused -> failed with the reason
cat >"$TMP/fake-krescue" <<'FAKE'
#!/bin/sh
case $1 in
version) echo "krescue fake" ;;
check) echo "15 certificates: 15 ok, 0 expiring"; exit "${FAKE_CHECK:-0}" ;;
renew) echo "krescue: refusing: apiserver: corrupt certificate; nothing changed" >&2; exit 1 ;;
stage) exit 0 ;;
esac
FAKE
chmod +x "$TMP/fake-krescue"
mkdir -p "$TMP/node/etc/kubernetes"
: >"$TMP/node/etc/fstab"
initmain() {
	printf '%s\n' "$1" >"$TMP/cmdline"
	FAKE_CHECK=$2 KR_SOURCE_ONLY=1 KR_CMDLINE="$TMP/cmdline" KR_RUN=echo \
	    KR_MNT="$TMP/node" KR_RUNDIR="$TMP/run" KR_KRESCUE="$TMP/fake-krescue" \
	    "$BB" sh -c '. ./initramfs/init; main' 2>&1
}
got=$(initmain "krescue.action=renew krescue.root=/dev/vda krescue.settle=0" 0)
case $got in
*"KRESCUE-RESULT: ok nothing to renew on /dev/vda: every certificate is fine (15 certificates: 15 ok, 0 expiring)"*)
	case $got in
	*remount,rw*) fail "renew, nothing to renew" "remounted read-write" ;;
	*) pass "renew with every certificate fine: ok nothing to renew, never read-write" ;;
	esac ;;
*) fail "renew, nothing to renew" "$(echo "$got" | grep RESULT)" ;;
esac
got=$(initmain "krescue.action=renew krescue.root=/dev/vda krescue.settle=0" 3)
case $got in
*"KRESCUE-RESULT: failed krescue renew exited 1 on /dev/vda: apiserver: corrupt certificate; nothing changed"*)
	pass "must fail: refused renewal names the reason" ;;
*) fail "must fail: refused renewal" "$(echo "$got" | grep RESULT)" ;;
esac
got=$(initmain "krescue.action=check krescue.root=/dev/vda krescue.settle=0" 3)
case $got in
*"KRESCUE-RESULT: ok check on /dev/vda: certificates expired or invalid (exit 3; 15 certificates: 15 ok, 0 expiring)"*)
	case $got in
	*remount,rw*) fail "action=check" "remounted read-write" ;;
	*) pass "action=check: the check's summary in the result line, read-only" ;;
	esac ;;
*) fail "action=check" "$(echo "$got" | grep RESULT)" ;;
esac

# a separate /var in the node's fstab that cannot be found: no renewal
# (its backup and the next boot's flag would land under the root's /var,
# hidden by the real one on the next boot); a check still runs
echo 'PARTUUID=00000000-0000-0000-0000-00000000ffff /var xfs defaults 0 0' \
    >"$TMP/node/etc/fstab"
got=$(KR_SYS="$S" initmain "krescue.action=renew krescue.root=/dev/vda krescue.settle=0" 3)
case $got in
*"KRESCUE-RESULT: failed the node's /var (PARTUUID=00000000-0000-0000-0000-00000000ffff in its fstab) was not found; not renewing on /dev/vda (nothing changed)"*)
	case $got in
	*remount,rw*) fail "must fail: renew without the node's /var" "remounted read-write" ;;
	*) pass "must fail: renew refused while the node's separate /var is missing" ;;
	esac ;;
*) fail "must fail: renew without the node's /var" "$(echo "$got" | grep -E 'RESULT|warning')" ;;
esac
got=$(KR_SYS="$S" initmain "krescue.action=check krescue.root=/dev/vda krescue.settle=0" 3)
case $got in
*"warning: the node's /var"*"KRESCUE-RESULT: ok check on /dev/vda"*)
	pass "check without the node's /var: a warning, then the check" ;;
*) fail "check without the node's /var" "$(echo "$got" | grep -E 'RESULT|warning')" ;;
esac
: >"$TMP/node/etc/fstab"

# the result line is printed once, whatever follows
got=$(KR_SOURCE_ONLY=1 KR_RUN=: "$BB" sh -c '. ./initramfs/init
    result ok "first"; result failed "second"' | grep -c KRESCUE-RESULT)
[ "$got" = 1 ] && pass "one KRESCUE-RESULT line" || fail "one KRESCUE-RESULT line" "$got"

# failed + poweroff under mocks: result line, then the mocked poweroff
got=$(KR_SOURCE_ONLY=1 KR_RUN=echo KR_MNT=/nonexistent "$BB" sh -c '. ./initramfs/init
    ON_ERROR=poweroff; failed "no disk"' | tr '\n' '|')
case $got in
*"KRESCUE-RESULT: failed no disk|"*"poweroff -f|") pass "failed: result line, then poweroff -f" ;;
*) fail "failed: result line, then poweroff -f" "$got" ;;
esac

finish
