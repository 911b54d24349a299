#!/bin/sh
# init-etcd-sans.sh: etcd.local.serverCertSANs and peerCertSANs of the
# kubeadm config reach etcd/server.crt and etcd/peer.crt (and only those),
# invalid ones are dropped with a warning, and check expects them.
. "$(dirname "$0")/../lib.sh"
require_krescue

R=$TMP/r
mkdir -p "$R/etc/kubernetes"
cat >"$R/etc/kubernetes/kubeadm-config.yaml" <<'YAML'
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
nodeRegistration:
  name: cp-1
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.28.4
etcd:
  local:
    serverCertSANs:
    - etcd.example.test
    - 198.51.100.7
    - not_a_name!
    peerCertSANs:
    - peer.example.test
YAML
expect_exit 0 "init with etcd SANs" "$KRESCUE" -q init --root "$R"
grep -q 'not_a_name!' "$ERR" && pass "an invalid etcd SAN is named in a warning" ||
    fail "invalid etcd SAN warning" "$(head -c 200 "$ERR")"
P=$R/etc/kubernetes/pki/etcd
srv=$(openssl x509 -in "$P/server.crt" -noout -ext subjectAltName 2>&1)
peer=$(openssl x509 -in "$P/peer.crt" -noout -ext subjectAltName 2>&1)
case $srv in
*etcd.example.test*198.51.100.7*) pass "server.crt carries serverCertSANs" ;;
*) fail "server.crt SANs" "$srv" ;;
esac
case $srv in
*peer.example.test*|*not_a_name*) fail "server.crt" "has a SAN it must not: $srv" ;;
*) pass "server.crt has no peer SAN and no invalid one" ;;
esac
case $peer in
*peer.example.test*) pass "peer.crt carries peerCertSANs" ;;
*) fail "peer.crt SANs" "$peer" ;;
esac
case $peer in
*etcd.example.test*) fail "peer.crt" "carries a server SAN: $peer" ;;
*) pass "peer.crt has no server SAN" ;;
esac
expect_exit 0 "check expects and finds the etcd SANs" \
    "$KRESCUE" check --root "$R"

# a server.crt without them is now reported by check
mkdir -p "$TMP/plain/etc/kubernetes"
sed '/^etcd:/,$d' "$R/etc/kubernetes/kubeadm-config.yaml" \
    >"$TMP/plain/etc/kubernetes/kubeadm-config.yaml"
"$KRESCUE" -q init --root "$TMP/plain" >/dev/null 2>&1
cp "$TMP/plain/etc/kubernetes/pki/etcd/server.crt" "$TMP/plain/etc/kubernetes/pki/etcd/server.key" \
    "$R/etc/kubernetes/pki/etcd/" 2>/dev/null
cp "$TMP/plain/etc/kubernetes/pki/etcd/ca.crt" "$TMP/plain/etc/kubernetes/pki/etcd/ca.key" \
    "$R/etc/kubernetes/pki/etcd/" 2>/dev/null
run "$KRESCUE" check --root "$R"
if [ "$RC" = 3 ] && grep -q 'missing SAN etcd.example.test' "$OUT"; then
	pass "check names a missing serverCertSAN"
else
	fail "check of a server.crt without the configured SANs" "exit $RC"
fi
finish
