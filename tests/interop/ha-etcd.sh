#!/bin/sh
# tests/interop/ha-etcd.sh: HA.  Node 1's tree comes from `krescue init`
# (advertise address 127.0.0.1, so the etcd certs carry it), node 2's from
# `krescue init --from-node` (cp-2, also 127.0.0.1).  A two-member etcd
# cluster (Debian's etcd-server) runs on 127.0.0.1 with each node's own
# server and peer certs, client and peer cert auth on: both members join,
# `etcdctl member list` shows both, `endpoint health --cluster` passes with
# either node's healthcheck-client, and a client cert from another
# cluster's etcd CA is refused.  Waits are bounded (30 s).
. "$(dirname "$0")/../lib.sh"
require_krescue
if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh etcd-server etcd-client >/dev/null 2>&1
fi
if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
	skip etcd "etcd/etcdctl not installed and Debian's etcd-server/etcd-client could not be installed"
	exit 0
fi
K8S=/etc/kubernetes

PIDS=
h_cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	t_cleanup
}
trap 'h_cleanup' EXIT

set -- $($PYTHON -c '
import socket
s = [socket.socket() for _ in range(4)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
C1=$1 P1=$2 C2=$3 P2=$4

# ===== the two trees ========================================================
sed 's/advertiseAddress: 192.0.2.10/advertiseAddress: 127.0.0.1/' \
    "$FIXTURES/kubeadm-v1.28.4/kubeadm-config.yaml" >"$TMP/cfg.yaml"
R1=$TMP/cp-1
R2=$TMP/cp-2
mkdir -p "$R1$K8S" "$R2$K8S"
cp "$TMP/cfg.yaml" "$R1$K8S/kubeadm-config.yaml"
cp "$TMP/cfg.yaml" "$R2$K8S/kubeadm-config.yaml"
expect_exit 0 node1-init "$KRESCUE" init --root "$R1"
expect_exit 0 node2-init-from-node "$KRESCUE" init --root "$R2" --from-node "$R1" \
    --node-name cp-2 --advertise-address 127.0.0.1
E1=$R1$K8S/pki/etcd
E2=$R2$K8S/pki/etcd
if cmp -s "$E1/ca.crt" "$E2/ca.crt" && cmp -s "$E1/ca.key" "$E2/ca.key"; then
	pass shared-etcd-ca
else
	fail shared-etcd-ca "node 2's etcd CA is not node 1's"
fi
s2=$(openssl x509 -in "$E2/peer.crt" -noout -subject -ext subjectAltName 2>&1 | tr '\n' ' ')
case $s2 in
*"CN = cp-2"*DNS:cp-2*"IP Address:127.0.0.1"*) pass node2-peer-cert-is-cp-2 ;;
*) fail node2-peer-cert-is-cp-2 "$s2" ;;
esac

# member NAME ETCD-DIR CLIENT-PORT PEER-PORT: start one member
member() {
	mkdir -m 0700 "$TMP/data-$1"
	etcd --name "$1" --data-dir "$TMP/data-$1" \
	    --listen-client-urls "https://127.0.0.1:$3" \
	    --advertise-client-urls "https://127.0.0.1:$3" \
	    --listen-peer-urls "https://127.0.0.1:$4" \
	    --initial-advertise-peer-urls "https://127.0.0.1:$4" \
	    --initial-cluster "cp-1=https://127.0.0.1:$P1,cp-2=https://127.0.0.1:$P2" \
	    --initial-cluster-state new --initial-cluster-token krescue-ha \
	    --listen-metrics-urls "" \
	    --cert-file "$2/server.crt" --key-file "$2/server.key" \
	    --client-cert-auth --trusted-ca-file "$2/ca.crt" \
	    --peer-cert-file "$2/peer.crt" --peer-key-file "$2/peer.key" \
	    --peer-client-cert-auth --peer-trusted-ca-file "$2/ca.crt" \
	    >"$TMP/etcd-$1.log" 2>&1 &
	PIDS="$PIDS $!"
}
member cp-1 "$E1" "$C1" "$P1"
member cp-2 "$E2" "$C2" "$P2"

# both ready (a two-member cluster serves only with both): up to 30 s
up=0
i=0
while [ "$i" -lt 60 ]; do
	n=0
	for m in cp-1 cp-2; do
		grep -q 'serving client traffic securely\|ready to serve client requests' \
		    "$TMP/etcd-$m.log" 2>/dev/null && n=$((n + 1))
	done
	[ "$n" -eq 2 ] && up=1 && break
	sleep 0.5
	i=$((i + 1))
done
if [ "$up" = 1 ]; then
	pass two-members-ready
else
	fail two-members-ready "not ready in 30 s: $(grep -ih 'error\|reject\|tls' "$TMP/etcd-cp-1.log" "$TMP/etcd-cp-2.log" | tail -n 2 | tr '\n' ' ' | cut -c 1-300)"
fi

# ectl ETCD-DIR PORT ARGS...: etcdctl with that node's healthcheck-client
ectl() {
	ec_d=$1 ec_p=$2
	shift 2
	timeout 20 etcdctl --endpoints "https://127.0.0.1:$ec_p" --dial-timeout 3s \
	    --command-timeout 5s --cacert "$ec_d/ca.crt" \
	    --cert "$ec_d/healthcheck-client.crt" --key "$ec_d/healthcheck-client.key" "$@"
}
run ectl "$E2" "$C2" member list
if [ "$RC" -eq 0 ] && grep -q 'cp-1' "$OUT" && grep -q 'cp-2' "$OUT" &&
    [ "$(grep -c started "$OUT")" -eq 2 ]; then
	pass member-list-both-started
else
	fail member-list-both-started "exit $RC: $(cat "$OUT" "$ERR" | head -n 3 | tr '\n' ' ' | cut -c 1-250)"
fi
for n in 1 2; do
	eval "d=\$E$n p=\$C$n"
	run ectl "$d" "$p" endpoint health --cluster
	if [ "$RC" -eq 0 ] && [ "$(cat "$OUT" "$ERR" | grep -c 'is healthy')" -eq 2 ]; then
		pass "endpoint-health-cluster-node$n-client"
	else
		fail "endpoint-health-cluster-node$n-client" "exit $RC: $(cat "$OUT" "$ERR" | head -n 3 | tr '\n' ' ' | cut -c 1-250)"
	fi
done
# a write on one member is read on the other (replication over the peers)
run ectl "$E1" "$C1" put /krescue/ha ok
rc1=$RC
run ectl "$E2" "$C2" get /krescue/ha --print-value-only
if [ "$rc1" -eq 0 ] && [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = ok ]; then
	pass replicated-put-get
else
	fail replicated-put-get "put exit $rc1, get exit $RC: $(head -c 100 "$OUT") $(why_err)"
fi
# node 2's apiserver-etcd-client on node 1
run timeout 20 etcdctl --endpoints "https://127.0.0.1:$C1" --dial-timeout 3s --command-timeout 5s \
    --cacert "$E1/ca.crt" --cert "$R2$K8S/pki/apiserver-etcd-client.crt" \
    --key "$R2$K8S/pki/apiserver-etcd-client.key" endpoint health
[ "$RC" -eq 0 ] && pass node2-apiserver-etcd-client-on-node1 || fail node2-apiserver-etcd-client-on-node1 "exit $RC: $(why_err)"

# a client from another cluster's etcd CA: refused
R3=$TMP/other
mkdir -p "$R3$K8S"
expect_exit 0 other-cluster-init "$KRESCUE" init --root "$R3" --node-name other \
    --advertise-address 127.0.0.1 --kubernetes-version v1.31.0 --key-type ECDSA-P256
run timeout 20 etcdctl --endpoints "https://127.0.0.1:$C1" --dial-timeout 3s --command-timeout 5s \
    --cacert "$E1/ca.crt" --cert "$R3$K8S/pki/etcd/healthcheck-client.crt" \
    --key "$R3$K8S/pki/etcd/healthcheck-client.key" endpoint health
[ "$RC" -ne 0 ] && pass foreign-ca-client-refused || fail foreign-ca-client-refused "etcd accepted a client from another CA"

finish
