#!/bin/sh
# tests/interop/kubectl.sh: kubectl (a Go TLS client, verifying the server)
# against `openssl s_server -WWW` standing in for the API server with
# krescue's renewed apiserver.crt and demanding a client cert from ca.crt:
# the renewed admin.conf gets /healthz = ok; the expired pre-renewal
# admin.conf is refused; and kubectl refuses the expired old apiserver.crt.
# The server cert has no 127.0.0.1 SAN, so the kubeconfig copy sets
# tls-server-name: kubernetes (one of its SANs).  127.0.0.1 only; bounded.
. "$(dirname "$0")/../lib.sh"
require_krescue

if ! command -v kubectl >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh kubernetes-client >/dev/null 2>&1
fi
if ! command -v kubectl >/dev/null 2>&1; then
	skip kubectl "kubectl not found and Debian's kubernetes-client could not be installed"
	exit 0
fi
if ! command -v openssl >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh openssl >/dev/null 2>&1 || {
		fail openssl "openssl missing"
		exit 1
	}
fi

SRV_PID=
k_cleanup() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	t_cleanup
}
trap 'k_cleanup' EXIT

free_port() {
	$PYTHON -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_server CERT KEY CA: openssl s_server -WWW on a free port, serving
# $TMP/www; waits up to 10 s for it to accept
start_server() {
	PORT=$(free_port)
	(cd "$TMP/www" && exec openssl s_server -accept "127.0.0.1:$PORT" \
	    -cert "$1" -key "$2" -CAfile "$3" -Verify 1 -verify_return_error \
	    -WWW </dev/null >"$TMP/server.log" 2>&1) &
	SRV_PID=$!
	i=0
	while [ "$i" -lt 20 ]; do
		kill -0 "$SRV_PID" 2>/dev/null || return 1
		grep -q ACCEPT "$TMP/server.log" 2>/dev/null && return 0
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}

# aim KUBECONFIG OUT: a copy pointing at the local server, verifying its
# cert for the name "kubernetes"
aim() {
	sed -e "s|^\( *\)server: .*|\1server: https://127.0.0.1:$PORT\\
\1tls-server-name: kubernetes|" "$1" >"$2"
	chmod 0600 "$2"
}

# kget KUBECONFIG: kubectl get --raw /healthz, bounded
kget() {
	run timeout 30 kubectl --kubeconfig "$1" \
	    get --raw /healthz
}

T0=$(date +%s)
K=$TMP/k28
mktree kubeadm "$K" --version 1.28.4 --expired
P=$K/etc/kubernetes/pki
cp "$K/etc/kubernetes/admin.conf" "$TMP/admin-old.conf"
cp "$P/apiserver.crt" "$TMP/apiserver-old.crt"
cp "$P/apiserver.key" "$TMP/apiserver-old.key"
expect_exit 0 renew "$KRESCUE" renew --root "$K"
mkdir -p "$TMP/www"
printf 'ok' >"$TMP/www/healthz"

if start_server "$P/apiserver.crt" "$P/apiserver.key" "$P/ca.crt"; then
	aim "$K/etc/kubernetes/admin.conf" "$TMP/admin-new.conf"
	if ! grep -q 'tls-server-name: kubernetes' "$TMP/admin-new.conf" ||
	    grep -q 'insecure' "$TMP/admin-new.conf"; then
		fail kubeconfig-copy "the copy lacks tls-server-name or skips verification"
	fi
	kget "$TMP/admin-new.conf"
	if [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = ok ]; then
		pass renewed-admin-conf-healthz-ok
	else
		fail renewed-admin-conf-healthz-ok "exit $RC, output \"$(head -c 80 "$OUT")\" ($(why_err))"
	fi
	aim "$TMP/admin-old.conf" "$TMP/admin-old-aimed.conf"
	kget "$TMP/admin-old-aimed.conf"
	if [ "$RC" -ne 0 ] && [ "$(cat "$OUT")" != ok ] &&
	    grep -qi 'tls\|certificate' "$ERR"; then
		pass expired-admin-conf-refused
	else
		fail expired-admin-conf-refused "kubectl with the expired client cert: exit $RC, output \"$(head -c 80 "$OUT")\" ($(why_err))"
	fi
	# the renewed controller-manager and scheduler identities work too
	for c in controller-manager scheduler; do
		aim "$K/etc/kubernetes/$c.conf" "$TMP/$c.conf"
		kget "$TMP/$c.conf"
		if [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = ok ]; then
			pass "renewed-$c-conf-healthz-ok"
		else
			fail "renewed-$c-conf-healthz-ok" "exit $RC ($(why_err))"
		fi
	done
else
	fail server-starts "openssl s_server did not come up: $(tail -n 2 "$TMP/server.log" | tr '\n' ' ')"
fi
stop_server

# kubectl verifies the server: the expired old apiserver.crt is refused
if start_server "$TMP/apiserver-old.crt" "$TMP/apiserver-old.key" "$P/ca.crt"; then
	aim "$K/etc/kubernetes/admin.conf" "$TMP/admin-new2.conf"
	kget "$TMP/admin-new2.conf"
	if [ "$RC" -ne 0 ] && grep -qi 'x509\|certificate' "$ERR"; then
		pass expired-server-cert-refused-by-kubectl
	else
		fail expired-server-cert-refused-by-kubectl "exit $RC ($(why_err))"
	fi
else
	fail server-starts-old "openssl s_server did not come up: $(tail -n 2 "$TMP/server.log" | tr '\n' ' ')"
fi
stop_server
echo "# kubectl interop: $(($(date +%s) - T0))s"

finish
