#!/bin/sh
# etcd-proof.sh NODE OLD: start etcd on 127.0.0.1 with NODE's renewed
# stacked-etcd certificates and require client certificates; etcdctl with
# NODE's healthcheck-client must succeed, with OLD's (expired) must fail.
set -eu
node=$1
old=$2
pki=$node/etc/kubernetes/pki/etcd
oldpki=$old/etc/kubernetes/pki/etcd
work=$(mktemp -d "${TMPDIR:-/tmp}/krescue-etcd.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cport=$(port)
pport=$(port)
etcd --name demo --data-dir "$work/data" \
    --listen-client-urls "https://127.0.0.1:$cport" \
    --advertise-client-urls "https://127.0.0.1:$cport" \
    --listen-peer-urls "https://127.0.0.1:$pport" \
    --initial-advertise-peer-urls "https://127.0.0.1:$pport" \
    --initial-cluster "demo=https://127.0.0.1:$pport" \
    --cert-file "$pki/server.crt" --key-file "$pki/server.key" \
    --client-cert-auth --trusted-ca-file "$pki/ca.crt" \
    --peer-cert-file "$pki/peer.crt" --peer-key-file "$pki/peer.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$pki/ca.crt" \
    >"$work/etcd.log" 2>&1 &
pid=$!

health() {	# cert key
	ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.1:$cport" \
	    --cacert "$pki/ca.crt" --cert "$1" --key "$2" \
	    --command-timeout=3s endpoint health
}
i=0
until health "$pki/healthcheck-client.crt" "$pki/healthcheck-client.key" \
    >"$work/ok.txt" 2>&1; do
	i=$((i + 1))
	if [ $i -ge 30 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "etcd did not accept the renewed certificates:" >&2
		cat "$work/ok.txt" "$work/etcd.log" >&2
		exit 1
	fi
	sleep 1
done
echo "renewed healthcheck-client: $(cat "$work/ok.txt")"
if health "$oldpki/healthcheck-client.crt" "$oldpki/healthcheck-client.key" \
    >"$work/old.txt" 2>&1; then
	echo "etcd accepted the OLD expired certificate" >&2
	exit 1
fi
echo "old (expired) healthcheck-client: refused, as it must be"
cleanup
pid=
trap - EXIT INT TERM
exit 0
