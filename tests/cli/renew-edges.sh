#!/bin/sh
# renew-edges.sh: kubeconfigs and key files that a plain splice or a blind
# copy would get wrong.  Each either renews correctly (and reads back) or is
# refused with nothing changed.
. "$(dirname "$0")/../lib.sh"
require_krescue

fresh() {
	rm -rf "$TMP/n"
	mktree kubeadm "$TMP/n" --version 1.28.4 --expired --kubelet-finalize
	A=$TMP/n/etc/kubernetes/admin.conf
}

# a UTF-8 byte-order mark before the YAML: renewed, and it still parses
fresh
printf '\357\273\277' >"$TMP/bom"
cat "$A" >>"$TMP/bom"
cat "$TMP/bom" >"$A"
run "$KRESCUE" renew --root "$TMP/n" --only admin.conf
if [ "$RC" = 0 ] && "$KRESCUE" check --root "$TMP/n" -o json >"$TMP/j" 2>/dev/null; [ "$RC" = 0 ] &&
    $PYTHON -c '
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["certificates"] if c["name"] == "admin.conf"][0]
sys.exit(0 if c["status"] == "ok" else 1)' "$TMP/j"; then
	pass "a kubeconfig starting with a byte-order mark is renewed and reads back"
else
	fail "byte-order mark" "exit $RC: $(why_err)"
fi

# refusals: nothing may change
refuse() {	# name
	h=$(tree_hash "$TMP/n")
	run "$KRESCUE" renew --root "$TMP/n" --only "${2:-admin.conf}"
	if [ "$RC" = 1 ] && [ "$(tree_hash "$TMP/n")" = "$h" ]; then
		pass "refused, nothing changed: $1 ($(why_err | cut -c 1-90))"
	else
		fail "refused: $1" "exit $RC, tree $( [ "$(tree_hash "$TMP/n")" = "$h" ] && echo same || echo changed)"
	fi
}

# the key and the certificate are one YAML alias: one value, two fields
fresh
$PYTHON - "$A" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().splitlines()
out = []
for l in s:
    if l.strip().startswith("client-certificate-data:"):
        out.append(l.replace("client-certificate-data: ", "client-certificate-data: &both "))
    elif l.strip().startswith("client-key-data:"):
        out.append(l.split(":")[0] + ": *both")
    else:
        out.append(l)
open(p, "w").write("\n".join(out) + "\n")
PY
refuse "client-key-data is an alias of client-certificate-data"

# a block scalar
fresh
$PYTHON - "$A" <<'PY'
import sys
p = sys.argv[1]
out = []
for l in open(p).read().splitlines():
    if l.strip().startswith("certificate-authority-data:"):
        k, v = l.split(": ", 1)
        out.append(k + ": |-")
        out.append(" " * (len(k) - len(k.lstrip()) + 2) + v.strip())
    else:
        out.append(l)
open(p, "w").write("\n".join(out) + "\n")
PY
refuse "certificate-authority-data is a block scalar"

# the same key twice in the user
fresh
$PYTHON - "$A" <<'PY'
import sys
p = sys.argv[1]
out = []
for l in open(p).read().splitlines():
    out.append(l)
    if l.strip().startswith("client-key-data:"):
        out.append(l)
open(p, "w").write("\n".join(out) + "\n")
PY
refuse "client-key-data appears twice"

# kubelet.conf with a separate key file: renewing would point the cert at
# a new file and leave the old key behind
fresh
K=$TMP/n/var/lib/kubelet/pki
cur=$(readlink "$K/kubelet-client-current.pem")
openssl x509 -in "$TMP/n$cur" -out "$K/kubelet.crt" 2>/dev/null
openssl pkey -in "$TMP/n$cur" -out "$K/kubelet.key" 2>/dev/null
chmod 600 "$K/kubelet.key"
sed -i "s|client-certificate: .*|client-certificate: /var/lib/kubelet/pki/kubelet.crt|; s|client-key: .*|client-key: /var/lib/kubelet/pki/kubelet.key|" \
    "$TMP/n/etc/kubernetes/kubelet.conf"
refuse "kubelet.conf with separate client-certificate and client-key files" kubelet-client

# Kubespray: a world-readable etcd key comes back no wider than 0640
rm -rf "$TMP/ks"
mktree kubespray "$TMP/ks" --expired
chmod 0644 "$TMP/ks/etc/ssl/etcd/ssl/admin-node1-key.pem"
run "$KRESCUE" renew --root "$TMP/ks" --only etcd-admin-node1
m=$(stat -c %a "$TMP/ks/etc/ssl/etcd/ssl/admin-node1-key.pem")
if [ "$RC" = 0 ] && [ "$m" = 640 ]; then
	pass "a 0644 etcd key is renewed as 0640"
else
	fail "etcd key mode" "exit $RC, mode $m"
fi
finish
