#!/bin/sh
# make demo: the whole story on an example node disk, offline.
#   1. a kubeadm v1.28 control-plane node whose certificates all expired
#      (the kubelet's client certificate too) is laid out in build/demo/node;
#   2. krescue check shows the damage;
#   3. krescue renew --dry-run shows the plan, krescue renew does it;
#   4. krescue check shows everything valid;
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

step "Installing what the demo needs (Debian packages, once)"
sh scripts/install-pkgs.sh python3 python3-cryptography python3-yaml \
    openssl etcd-server etcd-client

step "Building krescue (static, musl + mbedTLS + libyaml)"
make -s build
ls -l "$KRESCUE"

step "Making a dead control-plane node: every certificate expired"
rm -rf "$DEMO"
mkdir -p "$DEMO"
$PY tests/lib/mktree.py kubeadm "$DEMO/node" --version 1.28.4 --expired \
    --kubelet-finalize
cp -a "$DEMO/node" "$DEMO/before"
echo "node root: $DEMO/node"

step "krescue check: what is wrong (exit code 3 = expired or invalid)"
rc=0
"$KRESCUE" check --root "$DEMO/node" || rc=$?
echo "exit code: $rc"

step "krescue renew --dry-run: the plan, nothing written"
"$KRESCUE" renew --root "$DEMO/node" --dry-run | tail -n 12

step "krescue renew: all or nothing, backup first"
"$KRESCUE" renew --root "$DEMO/node"

step "krescue check again"
"$KRESCUE" check --root "$DEMO/node"
echo "exit code: 0 (all fine)"

step "A real client: etcd with the renewed certificates"
sh scripts/etcd-proof.sh "$DEMO/node" "$DEMO/before"

step "Done"
echo "Undo with: $KRESCUE rollback --root $DEMO/node"
