#!/bin/sh
# tests/interop/kubelet-tls.sh: the kubelet client certs krescue writes are
# accepted by a TLS server that demands a client cert from the cluster CA,
# as the API server does, without kubectl or a cluster: `openssl s_server
# -Verify 1 -verify_return_error -CAfile ca.crt` on 127.0.0.1 serving the
# apiserver.crt krescue renewed (resp. init wrote), curl as the client with
# the kubelet-client-<time>.pem (cert + key in one file).  The expired
# pre-renewal pem, no cert at all and a cert from a foreign CA are refused.
. "$(dirname "$0")/../lib.sh"
require_krescue
for tool in openssl curl; do
	command -v "$tool" >/dev/null 2>&1 || sh scripts/install-pkgs.sh openssl curl >/dev/null 2>&1
done
for tool in openssl curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		skip "$tool" "$tool is not installed (sh scripts/install-pkgs.sh openssl curl)"
		exit 0
	fi
done
K8S=/etc/kubernetes
KP=/var/lib/kubelet/pki

SRV_PID=
s_cleanup() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	t_cleanup
}
trap 's_cleanup' EXIT

free_port() {
	$PYTHON -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_server TAG CERT KEY CA: s_server on 127.0.0.1, up within 10 s
start_server() {
	PORT=$(free_port)
	SLOG=$TMP/s_server-$1.log
	: >"$SLOG"
	timeout 120 openssl s_server -accept "127.0.0.1:$PORT" -cert "$2" -key "$3" \
	    -CAfile "$4" -Verify 1 -verify_return_error -www </dev/null >"$SLOG" 2>&1 &
	SRV_PID=$!
	i=0
	while [ "$i" -lt 40 ]; do
		kill -0 "$SRV_PID" 2>/dev/null || return 1
		grep -q '^ACCEPT' "$SLOG" && return 0
		sleep 0.25
		i=$((i + 1))
	done
	return 1
}
stop_server() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}

# get HOST CA [PEM]: curl the server, verifying it for HOST
get() {
	g_host=$1 g_ca=$2
	shift 2
	if [ $# -gt 0 ]; then
		set -- --cert "$1" --key "$1"
	fi
	run curl -sS --max-time 10 --resolve "$g_host:$PORT:127.0.0.1" --cacert "$g_ca" "$@" \
	    "https://$g_host:$PORT/"
}
accepted() {
	get "$2" "$3" "$4"
	if [ "$RC" -eq 0 ] && grep -q 's_server' "$OUT"; then
		pass "$1"
	else
		fail "$1" "curl exit $RC: $(why_err)"
	fi
}
refused() {
	get "$2" "$3" "$4"
	if [ "$RC" -eq 0 ]; then
		fail "$1" "the server accepted it"
	elif grep -qi 'alert\|certificate' "$ERR"; then
		pass "$1"
	else
		fail "$1" "curl exit $RC but no TLS refusal: $(why_err)"
	fi
}

# ===== renewed: an expired control plane after kubelet-finalize ============
R=$TMP/cp
mktree kubeadm "$R" --version 1.28.4 --expired --kubelet-finalize
P=$R$K8S/pki
cp "$R$(readlink "$R$KP/kubelet-client-current.pem")" "$TMP/expired.pem"
expect_exit 0 renew-exit-0 "$KRESCUE" renew --root "$R"
NEW=$R$(readlink "$R$KP/kubelet-client-current.pem")
# a worker's pem, from the same CA
W=$TMP/worker
mkdir -p "$W$K8S/pki" "$W$KP" "$TMP/cafrom"
cp "$P/ca.crt" "$W$K8S/pki/"
cp "$P/ca.crt" "$P/ca.key" "$TMP/cafrom/"
expect_exit 0 worker-kubelet-exit-0 "$KRESCUE" kubelet --root "$W" --node worker-1 \
    --server https://cp.example.test:6443 --ca-from "$TMP/cafrom"
WPEM=$W$(readlink "$W$KP/kubelet-client-current.pem")
# a pem like the worker's, re-signed by a brand-new CA with the same subject
openssl x509 -in "$WPEM" -out "$TMP/foreign.crt" 2>/dev/null
cp "$TMP/foreign.crt" "$TMP/worker.crt"
if $MKTREE foreign-ca "$TMP/foreign.crt" >/dev/null 2>&1 && ! cmp -s "$TMP/worker.crt" "$TMP/foreign.crt"; then
	HAVE_FOREIGN=1
	{ cat "$TMP/foreign.crt"; sed -n '/-----BEGIN EC PRIVATE KEY-----/,/-----END EC PRIVATE KEY-----/p' "$WPEM"; } >"$TMP/foreign.pem"
else
	HAVE_FOREIGN=0
fi

if start_server renewed "$P/apiserver.crt" "$P/apiserver.key" "$P/ca.crt"; then
	pass renewed-s_server-up
	accepted renewed-cp-kubelet-pem-accepted cp-1 "$P/ca.crt" "$NEW"
	accepted renewed-worker-kubelet-pem-accepted cp.example.test "$P/ca.crt" "$WPEM"
	refused renewed-expired-pem-refused cp-1 "$P/ca.crt" "$TMP/expired.pem"
	refused renewed-no-client-cert-refused cp-1 "$P/ca.crt"
	if [ "$HAVE_FOREIGN" = 1 ]; then
		refused renewed-foreign-ca-pem-refused cp-1 "$P/ca.crt" "$TMP/foreign.pem"
	else
		skip renewed-foreign-ca-pem-refused "mktree foreign-ca did not re-sign the pem"
	fi
	grep -q 'CN = system:node:worker-1' "$SLOG" && pass renewed-server-saw-worker-identity ||
	    fail renewed-server-saw-worker-identity "s_server did not log system:node:worker-1"
else
	fail renewed-s_server-up "s_server did not start in 10 s: $(tail -n 2 "$SLOG" | tr '\n' ' ')"
fi
stop_server

# ===== init'ed: a fresh tree, its apiserver cert, a worker's pem ===========
I=$TMP/init
mkdir -p "$I$K8S"
cp "$FIXTURES/kubeadm-v1.28.4/kubeadm-config.yaml" "$I$K8S/"
expect_exit 0 init-exit-0 "$KRESCUE" init --root "$I"
IP=$I$K8S/pki
W=$TMP/worker2
mkdir -p "$W$K8S/pki" "$W$KP" "$TMP/cafrom2"
cp "$IP/ca.crt" "$W$K8S/pki/"
cp "$IP/ca.crt" "$IP/ca.key" "$TMP/cafrom2/"
expect_exit 0 init-worker-kubelet-exit-0 "$KRESCUE" kubelet --root "$W" --node worker-2 \
    --server https://cp.example.test:6443 --ca-from "$TMP/cafrom2"
W2PEM=$W$(readlink "$W$KP/kubelet-client-current.pem")
if start_server init "$IP/apiserver.crt" "$IP/apiserver.key" "$IP/ca.crt"; then
	pass init-s_server-up
	accepted init-worker-kubelet-pem-accepted cp-1.example.test "$IP/ca.crt" "$W2PEM"
	# the first tree's pem: another CA, refused
	refused init-other-cluster-pem-refused cp-1.example.test "$IP/ca.crt" "$NEW"
else
	fail init-s_server-up "s_server did not start in 10 s: $(tail -n 2 "$SLOG" | tr '\n' ' ')"
fi
stop_server

finish
