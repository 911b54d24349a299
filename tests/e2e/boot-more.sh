#!/bin/sh
# tests/e2e/boot-more.sh: more qemu (TCG) boots of the rescue image
# (build/vmlinuz + build/krescue.initrd), each asserting the single
# KRESCUE-RESULT line and the disk's state after the VM powered off:
#   1. root on an LVM logical volume, found by scanning and named by
#      krescue.root=/dev/mapper/VG-LV -> ok, the PKI renewed on the LV;
#   2. a separate /var on a second disk (LABEL= in the node's fstab) ->
#      ok, the new kubelet client certificate, its symlink and the backup
#      land on the second disk;
#   3. the Kubespray layout on xfs -> ok, check on the read-back exits 0;
#   4. nothing to renew -> ok "nothing to renew", the files unchanged;
#   5. a truncated apiserver.crt -> failed naming it, the files unchanged;
#   6. krescue.action=check -> the check's result, the files unchanged;
#   7. Kubespray as on a RHEL-family node: one GPT disk, p1 xfs root, p2
#      xfs /var (UUID= in the node's fstab), found by scanning -> ok, the
#      PKI renewed on p1; the kubelet client certificate, its symlink, the
#      backup and the staged flag on p2, nothing below p1's /var;
#   8. ca.key missing -> failed naming the missing CA key, files unchanged;
#   9. ca.key a valid key that does not match ca.crt -> failed naming the
#      mismatch, the files unchanged.
# Disks: mkfs.ext4 -d (read back with debugfs), the LVM layout written by
# pvcreate/vgcreate/lvcreate on a loop device without activating anything
# (the LV's file system is put at its extents with dd and read back the
# same way), xfs populated through a loop mount (a partition's file system
# is made alone, put at its offset behind sfdisk's table with dd, and read
# back by a loop mount at that offset).  Loop devices are needed for LVM
# and xfs (root); those cases SKIP without them.  Each boot has a
# hard timeout (BOOT_TIMEOUT, default 150 s) and prints its wall time.
# Rebuilds the image when it is missing or older than initramfs/ or
# scripts/image/.
. "$(dirname "$0")/../lib.sh"
require_krescue

BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
require_qemu boot-more
for tool in mkfs.ext4 debugfs openssl; do
	command -v $tool >/dev/null 2>&1 ||
	    sh scripts/install-pkgs.sh e2fsprogs openssl >/dev/null 2>&1
done
command -v pvcreate >/dev/null 2>&1 || sh scripts/install-pkgs.sh lvm2 >/dev/null 2>&1
command -v mkfs.xfs >/dev/null 2>&1 || sh scripts/install-pkgs.sh xfsprogs >/dev/null 2>&1
command -v sfdisk >/dev/null 2>&1 || sh scripts/install-pkgs.sh fdisk >/dev/null 2>&1

I=build/krescue.initrd
if [ ! -s build/vmlinuz ] || [ ! -s "$I" ] ||
    [ -n "$(find initramfs scripts/image -type f -newer "$I" 2>/dev/null)" ]; then
	if ! sh scripts/image/mkinitrd.sh >"$TMP/mkinitrd.log" 2>&1; then
		fail "make image" "$(tail -n 1 "$TMP/mkinitrd.log")"
		finish
	fi
	echo "# $(grep '^build/krescue.initrd' "$TMP/mkinitrd.log")"
fi

# Loop devices (LVM, xfs): ours only, detached on exit.
LOOPS=
cleanup() {
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
	for m in "$TMP"/mnt.*; do
		[ -d "$m" ] && mountpoint -q "$m" && umount "$m"
	done
	t_cleanup
}
trap cleanup EXIT
HAVE_LOOP=0
truncate -s 1M "$TMP/probe.img"
if [ "$(id -u)" = 0 ] && l=$(losetup -f --show "$TMP/probe.img" 2>/dev/null); then
	losetup -d "$l"
	HAVE_LOOP=1
fi

# boot NAME "DISK..." PARAMS: boot, serial log in $TMP/NAME.txt, the
# result line in $RESULT, their count in $NRESULT, the wall time in $SECS
boot() {
	b_disks=
	for d in $2; do b_disks="$b_disks -d $d"; done
	# shellcheck disable=SC2086
	qemu_run "$BOOT_TIMEOUT" "$1" -a "quiet $3" $b_disks
}

# expect NAME PATTERN: the result line matches the case PATTERN, once
expect() {
	# shellcheck disable=SC2254
	case $RESULT in
	$2) pass "$1: $RESULT (${SECS}s)" ;;
	*) fail "$1" "${RESULT:-no result line}: $(grep -v '^$' "$TMP/$1.txt" | tail -n 3 | tr '\n' ' ')" ;;
	esac
	[ "$NRESULT" = 1 ] || fail "$1: exactly one result line" "$NRESULT lines"
}

# readback IMG DIR [TOP...]: the file system's top directories (default
# etc var root) into DIR with debugfs (no mount)
readback() {
	rb_img=$1 rb_dir=$2
	shift 2
	mkdir -p "$rb_dir"
	[ $# -gt 0 ] || set -- etc var root
	for d in "$@"; do
		debugfs -R "rdump /$d $rb_dir" "$rb_img" >/dev/null 2>&1
	done
}

# disk_hash IMG [TOP...]: tree_hash of what readback gives
disk_hash() {
	dh_img=$1
	dh_dir=$TMP/hash.$(date +%s%N)
	shift
	readback "$dh_img" "$dh_dir" "$@"
	tree_hash "$dh_dir"
	rm -rf "$dh_dir"
}

# ext4_disk TREE IMG LABEL SIZE: a disk image holding TREE
ext4_disk() {
	truncate -s "$4" "$2"
	mkfs.ext4 -q -L "$3" -d "$1" "$2"
}

expired_tree() {
	mktree kubeadm "$1" --version 1.28.4 --expired --kubelet-finalize
	mkdir -p "$1/etc/systemd/system/multi-user.target.wants"
}

# check_dir NAME DIR: krescue check on a read-back root exits 0
check_dir() {
	run "$KRESCUE" check --root "$2"
	[ "$RC" = 0 ] && pass "$1: read back: krescue check exit 0" ||
	    fail "$1: read back: krescue check" "exit $RC ($(tail -n 1 "$OUT"))"
}

# pki_link_kept NAME DIR: Kubespray's absolute pki symlink is still there
pki_link_kept() {
	[ "$(readlink "$2/etc/kubernetes/pki")" = /etc/kubernetes/ssl ] &&
	    pass "$1: read back: the absolute pki symlink kept" ||
	    fail "$1: pki symlink" "$(readlink "$2/etc/kubernetes/pki")"
}

# staged NAME DIR: the unit is on the disk and enabled
staged() {
	s_u=$2/etc/systemd/system
	if [ -f "$s_u/krescue-finish.service" ] &&
	    [ "$(readlink "$s_u/multi-user.target.wants/krescue-finish.service")" = \
	    ../krescue-finish.service ]; then
		pass "$1: read back: krescue-finish.service staged and enabled"
	else
		fail "$1: read back: staged unit" "$(ls "$s_u" 2>&1 | tr '\n' ' ')"
	fi
}

# --- 1. root on LVM ------------------------------------------------------------
# lvmh ARGS: the host's lvm, restricted to our loop device, writing no
# metadata backups to the host and never touching device-mapper.
lvmh() {
	lvm "$@" --devices "$LOOP" --driverloaded n \
	    --config 'backup { backup = 0 archive = 0 }' 2>>"$TMP/lvm.log"
}
# lv_extract IMG OUT / lv_insert FS IMG: the LV's bytes (LV_OFF, LV_SIZE in MiB)
lv_extract() {
	dd if="$1" of="$2" bs=1M skip="$LV_OFF" count="$LV_SIZE" status=none
}
if [ "$HAVE_LOOP" = 0 ]; then
	skip "lvm" "no loop devices here (needs root and losetup)"
elif ! command -v lvm >/dev/null 2>&1; then
	skip "lvm" "lvm2 cannot be installed"
else
	VG=krnode$$
	L=$TMP/lvm.img
	T=$TMP/lvmtree
	expired_tree "$T"
	truncate -s 128M "$L"
	LOOP=$(losetup -f --show "$L")
	LOOPS="$LOOPS $LOOP"
	export LVM_SUPPRESS_FD_WARNINGS=1
	lvmh pvcreate -q "$LOOP" >/dev/null &&
	    lvmh vgcreate -q -s 4m "$VG" "$LOOP" >/dev/null &&
	    lvmh lvcreate -q -an -Zn -y -l 100%FREE -n root "$VG" >/dev/null
	# where the LV lives: one linear segment from the PV's first extent
	pe_start=$(lvmh pvs --noheadings --units m --nosuffix -o pe_start "$LOOP" | tr -d ' ')
	range=$(lvmh lvs --noheadings -o seg_pe_ranges "$VG/root" | tr -d ' ')
	losetup -d "$LOOP"
	LOOPS=
	first=${range##*:} first=${first%-*} last=${range##*-}
	LV_OFF=$((${pe_start%.*} + first * 4))
	LV_SIZE=$(((last - first + 1) * 4))
	echo "# lvm: VG $VG, LV root at ${LV_OFF} MiB, ${LV_SIZE} MiB ($range)"
	if [ -z "$range" ] || [ "$LV_SIZE" -le 0 ]; then
		fail "lvm: build the disk" "$(tail -n 2 "$TMP/lvm.log")"
	else
		truncate -s "${LV_SIZE}M" "$TMP/lv.fs"
		mkfs.ext4 -q -L lvroot -d "$T" "$TMP/lv.fs"
		dd if="$TMP/lv.fs" of="$L" bs=1M seek="$LV_OFF" conv=notrunc,sparse status=none
		cp --sparse=always "$L" "$TMP/lvm2.img"

		boot lvm-scan "$L" "krescue.action=renew krescue.settle=5"
		expect lvm-scan "KRESCUE-RESULT: ok renewed on /dev/mapper/$VG-root,*"
		lv_extract "$L" "$TMP/lv.out"
		readback "$TMP/lv.out" "$TMP/lvm-scan.out"
		check_dir lvm-scan "$TMP/lvm-scan.out"
		staged lvm-scan "$TMP/lvm-scan.out"

		boot lvm-root "$TMP/lvm2.img" \
		    "krescue.root=/dev/mapper/$VG-root krescue.action=renew krescue.settle=5"
		expect lvm-root "KRESCUE-RESULT: ok renewed on /dev/mapper/$VG-root,*"
		lv_extract "$TMP/lvm2.img" "$TMP/lv2.out"
		readback "$TMP/lv2.out" "$TMP/lvm-root.out"
		check_dir lvm-root "$TMP/lvm-root.out"
	fi
fi

# --- 2. separate /var ------------------------------------------------------------
T=$TMP/vtree
expired_tree "$T"
mkdir -p "$TMP/vdisk"
mv "$T/var/lib" "$TMP/vdisk/lib"
printf '# node fstab\nLABEL=k8sroot / ext4 defaults 0 1\nLABEL=k8svar /var ext4 defaults 0 2\n' \
    >"$T/etc/fstab"
[ ! -e "$T/var/lib/kubelet" ] && [ -d "$T/var" ] || fail "var: layout" "root still has /var/lib"
ext4_disk "$T" "$TMP/vroot.img" k8sroot 32M
ext4_disk "$TMP/vdisk" "$TMP/var.img" k8svar 32M
boot var "$TMP/vroot.img $TMP/var.img" "krescue.action=renew krescue.settle=5"
expect var "KRESCUE-RESULT: ok renewed on /dev/vda,*"
grep -q "mounted the node's /var" "$TMP/var.txt" &&
    pass "var: /init mounted the node's /var from its fstab" ||
    fail "var: /var mount" "no 'mounted the node's /var' on the console"
O=$TMP/var.out
readback "$TMP/vroot.img" "$O" etc root var
readback "$TMP/var.img" "$O/var" lib
# the root disk's /var stays an empty mount point
rm -rf "$TMP/var.rootonly"
readback "$TMP/vroot.img" "$TMP/var.rootonly" var
[ -z "$(ls -A "$TMP/var.rootonly/var" 2>/dev/null)" ] &&
    pass "var: nothing written below the root disk's /var mount point" ||
    fail "var: root disk's /var" "$(ls -A "$TMP/var.rootonly/var" | tr '\n' ' ')"
P=$O/var/lib/kubelet/pki
cur=$(readlink "$P/kubelet-client-current.pem")
case $cur in
/var/lib/kubelet/pki/kubelet-client-2024-01-01-00-00-00.pem | '')
	fail "var: kubelet client certificate on disk 2" "symlink -> '$cur'" ;;
*)	if [ -s "$P/${cur##*/}" ]; then
		pass "var: new kubelet client pem and its symlink on disk 2 (${cur##*/})"
	else
		fail "var: kubelet client pem" "$cur missing on disk 2"
	fi ;;
esac
[ -n "$(find "$O/var/lib/krescue/backup" -mindepth 1 -maxdepth 1 2>/dev/null)" ] &&
    pass "var: krescue's backup in /var/lib/krescue on disk 2" ||
    fail "var: backup on disk 2" "no /var/lib/krescue/backup/*"
check_dir var "$O"
staged var "$O"

# --- 3. Kubespray on xfs ----------------------------------------------------------
if [ "$HAVE_LOOP" = 0 ]; then
	skip "kubespray-xfs" "no loop devices here (needs root and losetup)"
elif ! command -v mkfs.xfs >/dev/null 2>&1; then
	skip "kubespray-xfs" "xfsprogs cannot be installed"
else
	T=$TMP/kstree
	mktree kubespray "$T" --expired
	mkdir -p "$T/etc/systemd/system/multi-user.target.wants"
	X=$TMP/ks.img
	truncate -s 320M "$X"	# mkfs.xfs wants 300 MB at least; sparse
	mkfs.xfs -q -L ksnode "$X"
	mkdir -p "$TMP/mnt.x"
	if mount -o loop "$X" "$TMP/mnt.x"; then
		cp -a "$T/." "$TMP/mnt.x/"
		umount "$TMP/mnt.x"
		boot kubespray-xfs "$X" "krescue.action=renew krescue.settle=5"
		expect kubespray-xfs "KRESCUE-RESULT: ok renewed on /dev/vda,*"
		O=$TMP/ks.out
		mkdir -p "$O"
		if mount -o ro,loop "$X" "$TMP/mnt.x"; then
			cp -a "$TMP/mnt.x/." "$O/"
			umount "$TMP/mnt.x"
			pki_link_kept kubespray-xfs "$O"
			check_dir kubespray-xfs "$O"
			staged kubespray-xfs "$O"
		else
			fail "kubespray-xfs: read back" "loop mount failed"
		fi
	else
		skip "kubespray-xfs" "cannot loop-mount xfs here"
	fi
fi

# --- 4. nothing to renew -------------------------------------------------------------
T=$TMP/fresh
mktree kubeadm "$T" --version 1.28.4
mkdir -p "$T/etc/systemd/system/multi-user.target.wants"
ext4_disk "$T" "$TMP/fresh.img" k8snode 32M
before=$(disk_hash "$TMP/fresh.img")
boot fresh "$TMP/fresh.img" "krescue.root=LABEL=k8snode krescue.action=renew krescue.settle=5"
expect fresh "KRESCUE-RESULT: ok nothing to renew on /dev/vda*"
[ "$before" = "$(disk_hash "$TMP/fresh.img")" ] &&
    pass "fresh: the disk's files unchanged (tree hashes equal), nothing staged" ||
    fail "fresh: the disk's files" "changed"

# refused NAME PATTERN: the tree $TMP/NAME on an ext4 disk, an unattended
# renewal that must fail with PATTERN, power off, and leave every file as
# it was
refused() {
	ext4_disk "$TMP/$1" "$TMP/$1.img" k8snode 32M
	r_before=$(disk_hash "$TMP/$1.img")
	boot "$1" "$TMP/$1.img" "krescue.action=renew krescue.settle=5"
	expect "$1" "$2"
	[ "$BRC" = 0 ] &&
	    pass "$1: powered off after the failure (qemu exit 0, no hang)" ||
	    fail "$1: power off" "qemu exit $BRC"
	[ "$r_before" = "$(disk_hash "$TMP/$1.img")" ] &&
	    pass "$1: the disk's files unchanged (tree hashes equal)" ||
	    fail "$1: the disk's files" "changed"
}

# --- 5. corrupt PKI -------------------------------------------------------------------
T=$TMP/corrupt
expired_tree "$T"
truncate -s 100 "$T/etc/kubernetes/pki/apiserver.crt"
refused corrupt "KRESCUE-RESULT: failed *apiserver.crt*"

# --- 6. krescue.action=check ----------------------------------------------------------
T=$TMP/chk
expired_tree "$T"
ext4_disk "$T" "$TMP/chk.img" k8snode 32M
before=$(disk_hash "$TMP/chk.img")
boot chk "$TMP/chk.img" "krescue.action=check krescue.settle=5"
expect chk "KRESCUE-RESULT: ok check on /dev/vda: certificates expired or invalid (exit 3; *expired*)"
[ "$before" = "$(disk_hash "$TMP/chk.img")" ] &&
    pass "chk: the disk's files unchanged (tree hashes equal)" ||
    fail "chk: the disk's files" "changed"

# --- 7. Kubespray on xfs, separate /var partition -------------------------------------
# xfs_fs TREE FILE LABEL UUID: a 320 MiB xfs file system (mkfs.xfs wants
# 300 MB at least; sparse) holding TREE, written through a loop mount
xfs_fs() {
	truncate -s 320M "$2"
	mkfs.xfs -q -L "$3" -m uuid="$4" "$2" || return 1
	mkdir -p "$TMP/mnt.xfs"
	mount -o loop "$2" "$TMP/mnt.xfs" || return 1
	cp -a "$1/." "$TMP/mnt.xfs/"
	umount "$TMP/mnt.xfs"
}
# part_copy IMG START SIZE DIR: the file system in sectors START..+SIZE of
# IMG, read-only through a loop mount at that offset, copied into DIR
part_copy() {
	mkdir -p "$TMP/mnt.part" "$4"
	mount -o ro,loop,offset=$(($2 * 512)),sizelimit=$(($3 * 512)) "$1" \
	    "$TMP/mnt.part" || return 1
	cp -a "$TMP/mnt.part/." "$4/"
	umount "$TMP/mnt.part"
}
if [ "$HAVE_LOOP" = 0 ]; then
	skip "ks-var" "no loop devices here (needs root and losetup)"
elif ! command -v mkfs.xfs >/dev/null 2>&1 || ! command -v sfdisk >/dev/null 2>&1; then
	skip "ks-var" "xfsprogs or fdisk cannot be installed"
else
	T=$TMP/ksvtree
	mktree kubespray "$T" --expired
	mkdir -p "$T/etc/systemd/system/multi-user.target.wants" "$TMP/ksvar"
	mv "$T/var/lib" "$TMP/ksvar/lib"
	U1=$(cat /proc/sys/kernel/random/uuid) U2=$(cat /proc/sys/kernel/random/uuid)
	printf '# /etc/fstab (anaconda)\nUUID=%s /    xfs defaults 0 0\nUUID=%s /var xfs defaults 0 0\n' \
	    "$U1" "$U2" >"$T/etc/fstab"
	if [ -e "$T/var/lib" ] || [ ! -L "$TMP/ksvar/lib/kubelet/pki/kubelet-client-current.pem" ]; then
		fail "ks-var: layout" "the root tree still has /var/lib, or /var has no kubelet pki"
	fi
	# sectors: p1 1 MiB..321 MiB, p2 321 MiB..641 MiB, 1 MiB for GPT's backup
	P1=2048 P2=657408 PS=655360
	X=$TMP/ksv.img
	truncate -s 642M "$X"
	printf 'label: gpt\nstart=%s, size=%s, type=linux, name=root\nstart=%s, size=%s, type=linux, name=var\n' \
	    $P1 $PS $P2 $PS | sfdisk -q "$X" >"$TMP/sfdisk.log" 2>&1
	if ! sfdisk -d "$X" 2>/dev/null | grep -q "start= *$P2, size= *$PS,"; then
		fail "ks-var: partition the disk" "$(tail -n 1 "$TMP/sfdisk.log")"
	elif ! xfs_fs "$T" "$TMP/ksv.p1" ksroot "$U1" ||
	    ! xfs_fs "$TMP/ksvar" "$TMP/ksv.p2" ksvar "$U2"; then
		skip "ks-var" "cannot make or loop-mount xfs here"
	else
		dd if="$TMP/ksv.p1" of="$X" bs=1M seek=$((P1 / 2048)) conv=notrunc,sparse status=none
		dd if="$TMP/ksv.p2" of="$X" bs=1M seek=$((P2 / 2048)) conv=notrunc,sparse status=none
		rm -f "$TMP/ksv.p1" "$TMP/ksv.p2"
		boot ks-var "$X" "krescue.action=renew krescue.settle=5"
		expect ks-var "KRESCUE-RESULT: ok renewed on /dev/vda1, restart staged, check exit 0"
		grep -q "mounted the node's /var (/dev/vda2)" "$TMP/ks-var.txt" &&
		    pass "ks-var: /init mounted the node's /var (/dev/vda2) by its fstab UUID=" ||
		    fail "ks-var: /var mount" "no 'mounted the node's /var (/dev/vda2)' on the console"
		# each partition on its own (R root, V /var), then the node as
		# mounted (O) for krescue check
		O=$TMP/ksv.out R=$TMP/ksv.root V=$TMP/ksv.var
		if part_copy "$X" $P1 $PS "$R" && part_copy "$X" $P2 $PS "$V"; then
			mkdir -p "$O/var"
			cp -a "$R/." "$O/"
			cp -a "$V/." "$O/var/"
			# the root partition's /var stays an empty mount point
			[ -d "$R/var" ] && [ -z "$(ls -A "$R/var")" ] &&
			    pass "ks-var: nothing written below the root partition's /var" ||
			    fail "ks-var: root partition's /var" "$(ls -A "$R/var" 2>&1 | tr '\n' ' ')"
			S=$R/etc/kubernetes/ssl
			if openssl verify -CAfile "$S/ca.crt" "$S/apiserver.crt" >"$TMP/ksv.verify" 2>&1 &&
			    openssl x509 -noout -checkend 86400 -in "$S/apiserver.crt" >/dev/null; then
				pass "ks-var: apiserver.crt on p1 (xfs root) verifies now and for a day (openssl)"
			else
				fail "ks-var: apiserver.crt on p1" "$(head -n 2 "$TMP/ksv.verify" | tr '\n' ' ')"
			fi
			P=$V/lib/kubelet/pki
			cur=$(readlink "$P/kubelet-client-current.pem")
			case $cur in
			/var/lib/kubelet/pki/kubelet-client-2024-01-01-00-00-00.pem | '')
				fail "ks-var: kubelet client certificate on p2" "symlink -> '$cur'" ;;
			*)	if [ -s "$P/${cur##*/}" ] && openssl verify -CAfile "$S/ca.crt" \
				    "$P/${cur##*/}" >"$TMP/ksv.verify" 2>&1; then
					pass "ks-var: new kubelet client pem and its symlink on p2, verified (${cur##*/})"
				else
					fail "ks-var: kubelet client pem on p2" "$cur: $(head -n 2 "$TMP/ksv.verify" | tr '\n' ' ')"
				fi ;;
			esac
			[ -n "$(find "$V/lib/krescue/backup" -mindepth 1 -maxdepth 1 2>/dev/null)" ] &&
			    [ -f "$V/lib/krescue/finish-pending" ] &&
			    pass "ks-var: krescue's backup and finish-pending flag in /var/lib/krescue on p2" ||
			    fail "ks-var: backup and flag on p2" "no lib/krescue/backup/* or finish-pending on p2"
			pki_link_kept ks-var "$R"
			check_dir ks-var "$O"
			staged ks-var "$R"
		else
			fail "ks-var: read back" "loop mount of a partition failed"
		fi
	fi
fi

# --- 8. CA key missing ----------------------------------------------------------------
T=$TMP/nokey
expired_tree "$T"
rm "$T/etc/kubernetes/pki/ca.key"
[ -s "$T/etc/kubernetes/pki/ca.crt" ] && [ ! -e "$T/etc/kubernetes/pki/ca.key" ] ||
    fail "nokey: layout" "ca.crt missing or ca.key still there"
refused nokey "KRESCUE-RESULT: failed krescue renew exited 1 on /dev/vda: CA ca *: /etc/kubernetes/pki/ca.crt has no key beside it (/etc/kubernetes/pki/ca.key)*"

# --- 9. CA key that does not match ca.crt -----------------------------------------------
T=$TMP/badkey
expired_tree "$T"
K=$T/etc/kubernetes/pki/ca.key
(umask 077 && openssl genrsa -traditional -out "$K" 2048 2>/dev/null)
# a well-formed RSA key of kubeadm's kind, just not ca.crt's
if ! openssl rsa -check -noout -in "$K" >/dev/null 2>&1 ||
    [ "$(openssl rsa -modulus -noout -in "$K")" = \
    "$(openssl x509 -modulus -noout -in "$T/etc/kubernetes/pki/ca.crt")" ]; then
	fail "badkey: layout" "ca.key is not a valid RSA key, or it matches ca.crt"
fi
refused badkey "KRESCUE-RESULT: failed krescue renew exited 1 on /dev/vda: CA ca *: private key /etc/kubernetes/pki/ca.key does not match the certificate*"

finish
