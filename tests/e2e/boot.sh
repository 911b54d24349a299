#!/bin/sh
# tests/e2e/boot.sh: boot the rescue image (build/vmlinuz +
# build/krescue.initrd) in qemu (TCG) against test disks made rootless with
# mkfs.ext4 -d, and read the disks back with debugfs.
#   1. kubeadm 1.28.4, everything expired, krescue.root=LABEL=,
#      krescue.action=renew -> "KRESCUE-RESULT: ok", the PKI on the disk is
#      valid (krescue check, openssl verify), the unit is staged and enabled.
#   2. a disk with no Kubernetes, found by scanning -> "KRESCUE-RESULT:
#      failed ...", the disk unchanged.
# Each boot has a hard timeout (BOOT_TIMEOUT, default 150 s) and prints
# its wall time.  Builds the image first if it is missing.
. "$(dirname "$0")/../lib.sh"
require_krescue

BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
require_qemu boot
for tool in mkfs.ext4 debugfs openssl; do
	command -v $tool >/dev/null 2>&1 ||
	    sh scripts/install-pkgs.sh e2fsprogs openssl >/dev/null 2>&1
done
require_image

# boot NAME DISK PARAMS: boot, serial log in $TMP/NAME.log, the result
# line in $RESULT, the wall time in $SECS
boot() { qemu_run "$BOOT_TIMEOUT" "$1" -a "quiet $3" -d "$2"; }

# readback DISK DIR: the disk's files into DIR (no mount, no loop device)
readback() {
	mkdir -p "$2"
	for d in etc var root; do
		debugfs -R "rdump /$d $2" "$1" >/dev/null 2>&1
	done
}

# --- 1. kubeadm, expired, renew --------------------------------------------
T=$TMP/kubeadm
mktree kubeadm "$T" --version 1.28.4 --expired --kubelet-finalize
mkdir -p "$T/etc/systemd/system/multi-user.target.wants"
truncate -s 64M "$TMP/kubeadm.img"
mkfs.ext4 -q -L k8snode -d "$T" "$TMP/kubeadm.img"

boot kubeadm "$TMP/kubeadm.img" \
    "krescue.root=LABEL=k8snode krescue.action=renew krescue.settle=5"
case $RESULT in
"KRESCUE-RESULT: ok "*) pass "renew boot: $RESULT (${SECS}s)" ;;
*) fail "renew boot" "${RESULT:-no result line}: $(tail -n 3 "$TMP/kubeadm.txt" | tr '\n' ' ')" ;;
esac
[ "$NRESULT" = 1 ] && pass "renew boot: exactly one result line" ||
    fail "renew boot: exactly one result line" "$NRESULT lines"

O=$TMP/kubeadm.out
readback "$TMP/kubeadm.img" "$O"
run "$KRESCUE" check --root "$O"
[ "$RC" = 0 ] && pass "disk read back: krescue check exit 0" ||
    fail "disk read back: krescue check" "exit $RC ($(grep -m 1 -i expired "$OUT"))"
P=$O/etc/kubernetes/pki
if openssl verify -CAfile "$P/ca.crt" "$P/apiserver.crt" >/dev/null 2>&1 &&
    openssl verify -CAfile "$P/etcd/ca.crt" "$P/etcd/server.crt" >/dev/null 2>&1
then
	pass "disk read back: openssl verify at the real time"
else
	fail "disk read back: openssl verify" \
	    "$(openssl verify -CAfile "$P/ca.crt" "$P/apiserver.crt" 2>&1 | tail -n 1)"
fi
U=$O/etc/systemd/system
if [ -f "$U/krescue-finish.service" ] &&
    [ "$(readlink "$U/multi-user.target.wants/krescue-finish.service")" = \
    ../krescue-finish.service ] && [ -f "$O/var/lib/krescue/finish-pending" ]
then
	pass "disk read back: unit staged, enabled by a relative link, flag set"
else
	fail "disk read back: staged unit" "$(ls -la "$U" "$U/multi-user.target.wants" 2>&1 | tr '\n' ' ')"
fi
[ -n "$(find "$O/var/lib/krescue/backup" -mindepth 1 -maxdepth 1 2>/dev/null)" ] &&
    pass "disk read back: backup of the old files present" ||
    fail "disk read back: backup" "no /var/lib/krescue/backup/*"

# --- 2. no Kubernetes on the disk --------------------------------------------
E=$TMP/empty
mkdir -p "$E/etc" "$E/var/lib"
echo plain >"$E/etc/hostname"
truncate -s 16M "$TMP/empty.img"
mkfs.ext4 -q -L plain -d "$E" "$TMP/empty.img"
before=$(sha256sum <"$TMP/empty.img")

boot empty "$TMP/empty.img" "krescue.action=renew krescue.settle=3"
case $RESULT in
"KRESCUE-RESULT: failed "*) pass "must fail: no Kubernetes: $RESULT (${SECS}s)" ;;
*) fail "must fail: no Kubernetes" "${RESULT:-no result line}" ;;
esac
[ "$NRESULT" = 1 ] && pass "no Kubernetes: exactly one result line" ||
    fail "no Kubernetes: exactly one result line" "$NRESULT lines"
readback "$TMP/empty.img" "$TMP/empty.out"
if [ "$(tree_hash "$E")" = "$(tree_hash "$TMP/empty.out")" ]; then
	pass "no Kubernetes: files on the disk unchanged"
else
	fail "no Kubernetes: files on the disk" "changed"
fi
[ "$before" = "$(sha256sum <"$TMP/empty.img")" ] &&
    pass "no Kubernetes: disk image byte-identical (mounted read-only only)" ||
    skip "no Kubernetes: disk image bytes" "a read-only mount updated the superblock"

finish
