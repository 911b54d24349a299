#!/bin/sh
# tests/cli/health.sh: `krescue health` against `openssl s_server` on
# 127.0.0.1 serving the node's apiserver.crt and demanding a client
# certificate.  0: HTTP 200 with admin.conf's client certificate, or with
# --ca/--cert/--key files.  Must-fail: a wrong server name, an expired
# server certificate, a CA that did not sign the server (3); nothing
# listening, a 404, a server that never answers (1); bad usage (100).
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! "$KRESCUE" --help 2>&1 | grep -q 'krescue health'; then
	fail health "this krescue has no health verb"
	finish
fi
if ! command -v openssl >/dev/null 2>&1; then
	skip health "no openssl"
	finish
fi

N=$TMP/node
E=$TMP/expired
mktree kubeadm "$N" --version 1.28.4
mktree kubeadm "$E" --version 1.28.4 --expired
PKI=$N/etc/kubernetes/pki

# every server we start, killed on exit (by pid) along with the temp dir
PIDS=
h_cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	t_cleanup
}
trap 'h_cleanup' EXIT

# a free port: ask the kernel, then hand it to s_server (a tiny race)
free_port() {
	$PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve DIR CERT KEY MODE: start s_server in DIR; sets $PORT, waits until
# it accepts connections (at most 10 s)
serve() {
	PORT=$(free_port)
	(cd "$1" && exec timeout 120 openssl s_server -accept "127.0.0.1:$PORT" \
	    -cert "$2" -key "$3" -CAfile "$PKI/ca.crt" -Verify 1 "$4" -quiet \
	    >"$TMP/s_server.$PORT.log" 2>&1) &
	PIDS="$PIDS $!"
	i=0
	while [ $i -lt 50 ]; do
		if $PYTHON -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		    "$PORT" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
		i=$((i + 1))
	done
	fail "s_server on $PORT" "did not start: $(head -n 2 "$TMP/s_server.$PORT.log")"
	finish
}

mkdir -p "$TMP/www" "$TMP/http"
printf ok >"$TMP/www/healthz"
printf 'HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot found\n' \
    >"$TMP/http/missing"

serve "$TMP/www" "$PKI/apiserver.crt" "$PKI/apiserver.key" -WWW
GOOD=$PORT
serve "$TMP/www" "$E/etc/kubernetes/pki/apiserver.crt" \
    "$E/etc/kubernetes/pki/apiserver.key" -WWW
EXPIRED=$PORT
serve "$TMP/http" "$PKI/apiserver.crt" "$PKI/apiserver.key" -HTTP
NOTFOUND=$PORT

# --- a healthy server ------------------------------------------------------
expect_exit 0 "200 with admin.conf's client certificate" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD" \
    --tls-server-name kubernetes
line=$(cat "$OUT")
case $line in
*"https://127.0.0.1:$GOOD"*TLSv1.[23]*"CN=kube-apiserver"*"HTTP 200"*'"ok"'*)
	pass "one line: server, TLS version, subject, status, body" ;;
*) fail "one line: server, TLS version, subject, status, body" "$line" ;;
esac
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "exactly one line" "$(wc -l <"$OUT") lines"
grep -q 'CN = kubernetes-admin' "$TMP/s_server.$GOOD.log" &&
    pass "the server saw the admin client certificate" ||
    fail "the server saw the admin client certificate" "not in its log"

expect_exit 0 "200 with --ca, --cert, --key files" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD" \
    --tls-server-name kubernetes --ca /etc/kubernetes/pki/ca.crt \
    --cert /etc/kubernetes/pki/apiserver-kubelet-client.crt \
    --key /etc/kubernetes/pki/apiserver-kubelet-client.key

# the kubeconfig as a host path, no --root (how the Ansible role calls it)
expect_exit 0 "--kubeconfig as a host path under the default root" \
    "$KRESCUE" health --server "https://127.0.0.1:$GOOD" \
    --tls-server-name kubernetes --kubeconfig "$N/etc/kubernetes/admin.conf"

# --- TLS and certificate failures: 3 ---------------------------------------
expect_exit 3 "wrong --tls-server-name" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD" \
    --tls-server-name not-the-apiserver.example
grep -q 'name mismatch' "$OUT" && pass "says: name mismatch" ||
    fail "says: name mismatch" "$(cat "$OUT")"

expect_exit 3 "the URL host 127.0.0.1 is not in apiserver.crt" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD"

expect_exit 3 "expired server certificate" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$EXPIRED" \
    --tls-server-name kubernetes
grep -q 'expired' "$OUT" && pass "says: expired" ||
    fail "says: expired" "$(cat "$OUT")"

# a CA that did not sign the server: the etcd CA, and a fresh one
expect_exit 3 "a CA that did not sign the server (etcd CA)" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD" \
    --tls-server-name kubernetes --ca /etc/kubernetes/pki/etcd/ca.crt \
    --cert /etc/kubernetes/pki/apiserver-kubelet-client.crt \
    --key /etc/kubernetes/pki/apiserver-kubelet-client.key
grep -q 'unknown CA' "$OUT" && pass "says: unknown CA" ||
    fail "says: unknown CA" "$(cat "$OUT")"
mkdir -p "$N/tmp"
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/other-ca.key" \
    -out "$N/tmp/other-ca.crt" -subj /CN=kubernetes -days 30 \
    >/dev/null 2>&1; then
	expect_exit 3 "a CA with the same name that did not sign the server" \
	    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD" \
	    --tls-server-name kubernetes --ca /tmp/other-ca.crt
else
	fail "a foreign CA" "openssl req failed"
fi

# --- no answer, or not 200: 1 ----------------------------------------------
CLOSED=$(free_port)
expect_exit 1 "nothing listening" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$CLOSED" \
    --tls-server-name kubernetes
grep -q 'refused' "$OUT" && pass "says: refused" ||
    fail "says: refused" "$(cat "$OUT")"

expect_exit 1 "HTTP 404" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$NOTFOUND" \
    --tls-server-name kubernetes --path /missing
grep -q 'HTTP 404' "$OUT" && pass "says: HTTP 404" ||
    fail "says: HTTP 404" "$(cat "$OUT")"

# a listener that never speaks: the timeout bounds the probe
SILENT=$(free_port)
$PYTHON -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
time.sleep(30)' "$SILENT" &
PIDS="$PIDS $!"
sleep 0.5
t0=$(date +%s)
expect_exit 1 "a server that never answers (--timeout 2)" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$SILENT" \
    --tls-server-name kubernetes --timeout 2
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] && pass "the timeout is kept" ||
    fail "the timeout is kept" "took $((t1 - t0)) s"

# --- usage and I/O ---------------------------------------------------------
expect_exit 100 "http:// is refused" \
    "$KRESCUE" health --root "$N" --server "http://127.0.0.1:$GOOD"
expect_exit 100 "--cert without --key" \
    "$KRESCUE" health --root "$N" --server "https://127.0.0.1:$GOOD" \
    --ca /etc/kubernetes/pki/ca.crt --cert /etc/kubernetes/pki/apiserver.crt
expect_exit 100 "--timeout 0" \
    "$KRESCUE" health --root "$N" --timeout 0
expect_exit 100 "unknown option" "$KRESCUE" health --bogus
expect_exit 111 "a kubeconfig that is not there" \
    "$KRESCUE" health --root "$N" --kubeconfig /etc/kubernetes/nope.conf \
    --server "https://127.0.0.1:$GOOD"

finish
