#!/bin/sh
# make demo: the whole story on an example node disk, offline.
#   1. a kubeadm v1.28 control-plane node whose certificates all expired
#      (the kubelet's client certificate too) is written to a disk image;
#   2. krescue check shows the damage;
#   3. the rescue image boots in qemu against that disk, renews, stages the
#      kubelet restart for the node's next boot, and powers off;
#   4. krescue check on the disk afterwards shows everything valid;
#   5. a real etcd started with the renewed certificates answers etcdctl
#      with the renewed client certificate, and refuses the old one.
set -eu
cd "$(dirname "$0")/.."
KRESCUE=$PWD/build/krescue
DEMO=$PWD/build/demo
PY=/usr/bin/python3
FIXTURES=${FIXTURES:-$PWD/../shared/fixtures}
export FIXTURES

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/7 Installing what the demo needs (Debian packages, once)"
sh scripts/install-pkgs.sh python3 python3-cryptography python3-yaml \
    openssl etcd-server etcd-client qemu-system-x86 e2fsprogs cpio

step "2/7 Building krescue and the rescue image (kernel + initramfs)"
make -s build
ls -l "$KRESCUE"
make -s image

step "3/7 A dead control-plane node: every certificate expired"
rm -rf "$DEMO"
mkdir -p "$DEMO"
$PY tests/lib/mktree.py kubeadm "$DEMO/node" --version 1.28.4 --expired \
    --kubelet-finalize
mkdir -p "$DEMO/node/etc/systemd/system/multi-user.target.wants"
truncate -s 64M "$DEMO/disk.img"
mkfs.ext4 -q -L k8snode -d "$DEMO/node" "$DEMO/disk.img"
echo "node disk: $DEMO/disk.img (ext4, label k8snode)"
rc=0
"$KRESCUE" check --root "$DEMO/node" || rc=$?
echo "krescue check exit code: $rc (3 = expired or invalid)"

step "4/7 Booting the rescue image against the disk (qemu, no KVM): renew"
start=$(date +%s)
sh scripts/image/run-qemu.sh -t 240 -d "$DEMO/disk.img" \
    -a "quiet krescue.root=LABEL=k8snode krescue.action=renew krescue.settle=5" \
    </dev/null | tr -d '\r' | tee "$DEMO/console.log" |
    grep -E '^(krescue|\[|renewed|KRESCUE-RESULT)' || :
echo "(qemu ran $(($(date +%s) - start)) s; full console in $DEMO/console.log)"
grep '^KRESCUE-RESULT: ok ' "$DEMO/console.log" >/dev/null || {
	echo "the rescue boot did not report success" >&2
	exit 1
}

step "5/7 Reading the disk back: krescue check"
mkdir -p "$DEMO/after"
for d in etc var root; do
	debugfs -R "rdump /$d $DEMO/after" "$DEMO/disk.img" >/dev/null 2>&1
done
"$KRESCUE" check --root "$DEMO/after"
echo "krescue check exit code: 0 (all fine)"
echo "staged for the next boot:"
ls -l "$DEMO/after/etc/systemd/system/multi-user.target.wants/"

step "6/7 A real client: etcd with the renewed certificates"
sh scripts/etcd-proof.sh "$DEMO/after" "$DEMO/node"

step "7/7 Done"
echo "The node boots with valid certificates; krescue-finish.service runs"
echo "once before the kubelet. The old files are in the disk's"
echo "/var/lib/krescue/backup/ (krescue rollback puts them back)."
