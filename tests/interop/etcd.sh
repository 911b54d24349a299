#!/bin/sh
# tests/interop/etcd.sh: a real etcd (Debian's etcd-server 3.4) serving
# krescue's renewed certs, with client and peer cert auth on, is healthy
# for etcdctl presenting the renewed client certs and refuses the expired
# pre-renewal ones.  Once on a kubeadm 1.28.4 tree (pki/etcd/server, peer,
# healthcheck-client, apiserver-etcd-client), once on a Kubespray tree
# (/etc/ssl/etcd/ssl member-node1 for server+peer, admin-node1 for etcdctl).
# Everything listens on 127.0.0.1 only; waits are bounded.
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh etcd-server etcd-client >/dev/null 2>&1
fi
if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
	skip etcd "etcd/etcdctl not installed and Debian's etcd-server/etcd-client could not be installed"
	exit 0
fi

ETCD_PID=
e_cleanup() {
	if [ -n "$ETCD_PID" ]; then
		kill "$ETCD_PID" 2>/dev/null
		wait "$ETCD_PID" 2>/dev/null
	fi
	t_cleanup
}
trap 'e_cleanup' EXIT

# two free TCP ports on 127.0.0.1
free_ports() {
	$PYTHON -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))'
}

# start_etcd NAME SERVER-CRT SERVER-KEY PEER-CRT PEER-KEY CA: run etcd in
# the background, wait up to 20 s for its client port
start_etcd() {
	set -- "$@" $(free_ports)
	CPORT=$7 PPORT=$8
	DATA=$TMP/etcd-$1
	ELOG=$TMP/etcd-$1.log
	rm -rf "$DATA"
	mkdir -m 0700 "$DATA"
	etcd --name "$1" --data-dir "$DATA" \
	    --listen-client-urls "https://127.0.0.1:$CPORT" \
	    --advertise-client-urls "https://127.0.0.1:$CPORT" \
	    --listen-peer-urls "https://127.0.0.1:$PPORT" \
	    --initial-advertise-peer-urls "https://127.0.0.1:$PPORT" \
	    --initial-cluster "$1=https://127.0.0.1:$PPORT" \
	    --initial-cluster-state new \
	    --listen-metrics-urls "" \
	    --cert-file "$2" --key-file "$3" \
	    --client-cert-auth --trusted-ca-file "$6" \
	    --peer-cert-file "$4" --peer-key-file "$5" \
	    --peer-client-cert-auth --peer-trusted-ca-file "$6" \
	    >"$TMP/etcd-$1.log" 2>&1 &
	ETCD_PID=$!
	i=0
	while [ "$i" -lt 40 ]; do
		if ! kill -0 "$ETCD_PID" 2>/dev/null; then
			return 1
		fi
		if grep -q 'serving client traffic securely\|ready to serve client requests' \
		    "$TMP/etcd-$1.log" 2>/dev/null; then
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

stop_etcd() {
	if [ -n "$ETCD_PID" ]; then
		kill "$ETCD_PID" 2>/dev/null
		i=0
		while kill -0 "$ETCD_PID" 2>/dev/null && [ "$i" -lt 20 ]; do
			sleep 0.5
			i=$((i + 1))
		done
		kill -9 "$ETCD_PID" 2>/dev/null
		wait "$ETCD_PID" 2>/dev/null
		ETCD_PID=
	fi
}

# ectl CA CERT KEY ARGS...: etcdctl against the running etcd, bounded
ectl() {
	ec_ca=$1 ec_crt=$2 ec_key=$3
	shift 3
	timeout 20 etcdctl --endpoints "https://127.0.0.1:$CPORT" \
	    --dial-timeout 3s --command-timeout 5s \
	    --cacert "$ec_ca" --cert "$ec_crt" --key "$ec_key" "$@"
}

# healthy NAME CA CERT KEY: endpoint health succeeds
healthy() {
	run ectl "$2" "$3" "$4" endpoint health
	if [ "$RC" -eq 0 ] && grep -q 'is healthy' "$OUT" "$ERR"; then
		pass "$1"
	else
		fail "$1" "etcdctl endpoint health: exit $RC ($(cat "$OUT" "$ERR" | head -n 2 | tr '\n' ' ' | cut -c 1-200))"
	fi
}

# refused NAME CA CERT KEY: endpoint health fails (TLS refuses the cert)
# and etcd logged a TLS rejection (expired cert, or the client's alert)
ELOG=
refused() {
	n0=$(grep -c 'rejected connection' "$ELOG")
	run ectl "$2" "$3" "$4" endpoint health
	n1=$(grep -c 'rejected connection' "$ELOG")
	if [ "$RC" -eq 0 ]; then
		fail "$1" "etcdctl endpoint health succeeded with an expired cert"
	elif [ "$n1" -le "$n0" ]; then
		fail "$1" "etcdctl failed (exit $RC) but etcd logged no TLS rejection: $(why_err)"
	else
		pass "$1"
	fi
}

# peer_ok NAME CA CERT KEY: the peer port serves a cert that verifies
# against CA for 127.0.0.1, and takes this client cert
peer_ok() {
	run sh -c 'timeout 10 openssl s_client -connect "127.0.0.1:$1" -CAfile "$2" \
	    -cert "$3" -key "$4" -verify_return_error -verify_ip 127.0.0.1 \
	    </dev/null 2>&1' sh "$PPORT" "$2" "$3" "$4"
	if grep -q 'Verify return code: 0 (ok)' "$OUT"; then
		pass "$1"
	else
		fail "$1" "peer port: $(grep -i 'verify\|error' "$OUT" | head -n 2 | tr '\n' ' ' | cut -c 1-200)"
	fi
}

# ===================== kubeadm 1.28.4 =====================================
T0=$(date +%s)
K=$TMP/k28
mktree kubeadm "$K" --version 1.28.4 --expired
E=$K/etc/kubernetes/pki/etcd
P=$K/etc/kubernetes/pki
OLD=$TMP/old28
mkdir -p "$OLD"
cp "$E/healthcheck-client.crt" "$E/healthcheck-client.key" \
    "$P/apiserver-etcd-client.crt" "$P/apiserver-etcd-client.key" \
    "$E/server.crt" "$E/server.key" "$OLD/"
expect_exit 0 k28-renew "$KRESCUE" renew --root "$K"

if ! openssl x509 -in "$E/server.crt" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1'; then
	fail k28-server-san "renewed etcd server.crt has no 127.0.0.1 SAN"
fi

if start_etcd cp-1 "$E/server.crt" "$E/server.key" "$E/peer.crt" "$E/peer.key" "$E/ca.crt"; then
	pass k28-etcd-starts-with-renewed-server-and-peer
	healthy k28-healthcheck-client-renewed "$E/ca.crt" "$E/healthcheck-client.crt" "$E/healthcheck-client.key"
	refused k28-healthcheck-client-expired-refused "$E/ca.crt" "$OLD/healthcheck-client.crt" "$OLD/healthcheck-client.key"
	healthy k28-apiserver-etcd-client-renewed "$E/ca.crt" "$P/apiserver-etcd-client.crt" "$P/apiserver-etcd-client.key"
	refused k28-apiserver-etcd-client-expired-refused "$E/ca.crt" "$OLD/apiserver-etcd-client.crt" "$OLD/apiserver-etcd-client.key"
	run ectl "$E/ca.crt" "$P/apiserver-etcd-client.crt" "$P/apiserver-etcd-client.key" put /krescue ok
	rc1=$RC
	run ectl "$E/ca.crt" "$P/apiserver-etcd-client.crt" "$P/apiserver-etcd-client.key" get /krescue --print-value-only
	if [ "$rc1" -eq 0 ] && [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = ok ]; then
		pass k28-apiserver-etcd-client-put-get
	else
		fail k28-apiserver-etcd-client-put-get "put exit $rc1, get exit $RC: $(head -c 100 "$OUT")"
	fi
	peer_ok k28-peer-cert-served "$E/ca.crt" "$E/healthcheck-client.crt" "$E/healthcheck-client.key"
else
	fail k28-etcd-starts-with-renewed-server-and-peer "etcd did not come up in 20s: $(grep -i 'error\|fatal\|warn' "$TMP/etcd-cp-1.log" | tail -n 2 | tr '\n' ' ' | cut -c 1-300)"
fi
stop_etcd

# the expired server cert: etcdctl with the renewed client cert refuses it
if start_etcd cp-1-old "$OLD/server.crt" "$OLD/server.key" "$E/peer.crt" "$E/peer.key" "$E/ca.crt"; then
	refused k28-expired-server-refused-by-etcdctl "$E/ca.crt" "$E/healthcheck-client.crt" "$E/healthcheck-client.key"
else
	skip k28-expired-server-refused-by-etcdctl "etcd did not start with the expired server cert"
fi
stop_etcd
T1=$(date +%s)
echo "# kubeadm part: $((T1 - T0))s"

# ===================== Kubespray host etcd =================================
S=$TMP/ks
mktree kubespray "$S" --expired
D=$S/etc/ssl/etcd/ssl
OLDS=$TMP/oldks
mkdir -p "$OLDS"
cp -p "$D"/*.pem "$OLDS/"
expect_exit 0 ks-renew-only "$KRESCUE" renew --root "$S" --only etcd-member-node1,etcd-admin-node1
if cmp -s "$OLDS/node-node1.pem" "$D/node-node1.pem" &&
    ! cmp -s "$OLDS/member-node1.pem" "$D/member-node1.pem" &&
    ! cmp -s "$OLDS/admin-node1.pem" "$D/admin-node1.pem"; then
	pass ks-only-the-named-two
else
	fail ks-only-the-named-two "member/admin renewed and node untouched: not so"
fi

if start_etcd node1 "$D/member-node1.pem" "$D/member-node1-key.pem" \
    "$D/member-node1.pem" "$D/member-node1-key.pem" "$D/ca.pem"; then
	pass ks-etcd-starts-with-renewed-member
	healthy ks-admin-renewed "$D/ca.pem" "$D/admin-node1.pem" "$D/admin-node1-key.pem"
	refused ks-admin-expired-refused "$D/ca.pem" "$OLDS/admin-node1.pem" "$OLDS/admin-node1-key.pem"
	refused ks-node-not-renewed-refused "$D/ca.pem" "$D/node-node1.pem" "$D/node-node1-key.pem"
	peer_ok ks-peer-cert-served "$D/ca.pem" "$D/admin-node1.pem" "$D/admin-node1-key.pem"
else
	fail ks-etcd-starts-with-renewed-member "etcd did not come up in 20s: $(grep -i 'error\|fatal' "$TMP/etcd-node1.log" | tail -n 2 | tr '\n' ' ' | cut -c 1-300)"
fi
stop_etcd
T2=$(date +%s)
echo "# Kubespray part: $((T2 - T1))s"

finish
