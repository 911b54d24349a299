#!/bin/sh
# tests/cli/kubelet.sh: `krescue kubelet --node NAME` on a worker's disk
# (ca.crt only, CA given with --ca-from; without kubelet.conf and with an
# expired embedded one) and on a control plane after kubelet-finalize: the
# kubelet-client-<time>.pem (0600, cert + EC P-256 key, system:node:NAME,
# system:nodes, clientAuth, signed by the cluster CA), the absolute
# kubelet-client-current.pem symlink, kubelet.conf in the kubelet-finalize
# layout; check passes; --dry-run writes nothing; rollback restores; the
# CA key never lands on the worker.  Must-fail: no CA key, bad node name.
. "$(dirname "$0")/../lib.sh"
require_krescue
if ! command -v openssl >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh openssl >/dev/null 2>&1
fi
if ! command -v openssl >/dev/null 2>&1; then
	fail openssl "openssl is not installed (sh scripts/install-pkgs.sh openssl)"
	exit 1
fi
K8S=/etc/kubernetes
KP=/var/lib/kubelet/pki
CUR=$KP/kubelet-client-current.pem

KL="$PYTHON $TMP/kl.py"
cat >"$TMP/kl.py" <<'PY'
import warnings; warnings.simplefilter("ignore")
import base64, sys, time
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def pem(path, node):
    """the kubelet's cert+key file"""
    with open(path, "rb") as f:
        data = f.read()
    bad = []
    if data.count(b"-----BEGIN CERTIFICATE-----") != 1:
        bad.append("not exactly one certificate")
    if data.count(b"-----BEGIN EC PRIVATE KEY-----") != 1:
        bad.append("no EC PRIVATE KEY block")
    c = x509.load_pem_x509_certificate(data)
    k = data[data.index(b"-----BEGIN EC PRIVATE KEY-----"):] \
        if b"-----BEGIN EC PRIVATE KEY-----" in data else data
    key = serialization.load_pem_private_key(k, None)
    pub = c.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or \
            pub.curve.name != "secp256r1":
        bad.append("cert key is not EC P-256")
    sp = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, sp) != pub.public_bytes(der, sp):
        bad.append("key does not match the cert")
    cn = [a.value for a in c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    o = [a.value for a in c.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME)]
    if cn != ["system:node:" + node] or o != ["system:nodes"]:
        bad.append("subject %s" % c.subject.rfc4514_string())
    eku = list(c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    if eku != [ExtendedKeyUsageOID.CLIENT_AUTH]:
        bad.append("EKU %s" % eku)
    if c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
        bad.append("CA:TRUE")
    if c.not_valid_after.timestamp() < time.time() + 300 * 86400:
        bad.append("NotAfter %s: less than 300 days" % c.not_valid_after)
    if bad:
        print("; ".join(bad))


def conf(path, capath, server, cur):
    """kubelet.conf in the kubelet-finalize layout"""
    with open(path) as f:
        d = yaml.safe_load(f)
    with open(capath, "rb") as f:
        ca = f.read()
    bad = []
    ctx = [c for c in d["contexts"] if c["name"] == d.get("current-context")]
    if len(ctx) != 1:
        print("current-context %s not found" % d.get("current-context"))
        return
    ctx = ctx[0]["context"]
    u = [x["user"] for x in d["users"] if x["name"] == ctx["user"]]
    cl = [x["cluster"] for x in d["clusters"] if x["name"] == ctx["cluster"]]
    if len(u) != 1 or len(cl) != 1:
        print("context user/cluster not found")
        return
    u, cl = u[0], cl[0]
    if u.get("client-certificate") != cur or u.get("client-key") != cur:
        bad.append("client-certificate/key %s %s" % (
            u.get("client-certificate"), u.get("client-key")))
    if "client-certificate-data" in u or "client-key-data" in u:
        bad.append("embedded client data left")
    if base64.b64decode(cl.get("certificate-authority-data", "")) != ca:
        bad.append("certificate-authority-data is not ca.crt")
    if server and cl.get("server") != server:
        bad.append("server %s, want %s" % (cl.get("server"), server))
    if bad:
        print("; ".join(bad))


if __name__ == "__main__":
    {"pem": pem, "conf": conf}[sys.argv[1]](*sys.argv[2:])
PY

listing() {
	(cd "$1" && find . -path ./var/lib/krescue -prune -o -printf '%y %m %p %l\n' | sort
	 cd "$1" && find . -path ./var/lib/krescue -prune -o -type f -exec sha256sum {} + | sort -k 2)
}

# newpems ROOT: kubelet-client-<time>.pem files (not the symlink)
newpems() {
	find "$1$KP" -maxdepth 1 -type f -name 'kubelet-client-*.pem' -printf '%f\n' 2>/dev/null | sort
}

# judge TAG ROOT NODE SERVER OLD-PEMS: the written layout
judge() {
	jg_tag=$1 jg_r=$2 jg_node=$3 jg_srv=$4 jg_old=$5
	jg_new=$(newpems "$jg_r" | grep -vxF "$jg_old" | grep -v '^$')
	if [ "$(printf '%s\n' "$jg_new" | grep -c .)" -ne 1 ]; then
		fail "$jg_tag-one-new-pem" "new pem files: $(echo $jg_new)"
		return
	fi
	pass "$jg_tag-one-new-pem"
	echo "$jg_new" | grep -qE '^kubelet-client-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.pem$' &&
	    pass "$jg_tag-pem-name" || fail "$jg_tag-pem-name" "$jg_new"
	jg_p=$jg_r$KP/$jg_new
	[ "$(stat -c %a "$jg_p")" = 600 ] && pass "$jg_tag-pem-mode-0600" || fail "$jg_tag-pem-mode-0600" "$(stat -c %a "$jg_p")"
	$KL pem "$jg_p" "$jg_node" >"$TMP/.kl" 2>&1
	[ -s "$TMP/.kl" ] && fail "$jg_tag-pem-content" "$(head -c 300 "$TMP/.kl")" || pass "$jg_tag-pem-content"
	openssl verify -CAfile "$jg_r$K8S/pki/ca.crt" "$jg_p" >/dev/null 2>&1 &&
	    pass "$jg_tag-pem-verifies" || fail "$jg_tag-pem-verifies" "not signed by the node's ca.crt"
	jg_l=$(readlink "$jg_r$CUR")
	[ -L "$jg_r$CUR" ] && [ "$jg_l" = "$KP/$jg_new" ] && pass "$jg_tag-symlink-absolute" ||
	    fail "$jg_tag-symlink-absolute" "kubelet-client-current.pem -> '$jg_l', want $KP/$jg_new"
	[ "$(stat -c %a "$jg_r$K8S/kubelet.conf")" = 600 ] && pass "$jg_tag-conf-mode-0600" ||
	    fail "$jg_tag-conf-mode-0600" "$(stat -c %a "$jg_r$K8S/kubelet.conf")"
	$KL conf "$jg_r$K8S/kubelet.conf" "$jg_r$K8S/pki/ca.crt" "$jg_srv" "$CUR" >"$TMP/.kl" 2>&1
	[ -s "$TMP/.kl" ] && fail "$jg_tag-conf-finalize-layout" "$(head -c 300 "$TMP/.kl")" || pass "$jg_tag-conf-finalize-layout"
	run "$KRESCUE" check --root "$jg_r"
	[ "$RC" -eq 0 ] && pass "$jg_tag-check-exit-0" || fail "$jg_tag-check-exit-0" "check exit $RC"
}

# the control plane whose CA the workers trust
CP=$TMP/cp
mktree kubeadm "$CP" --version 1.28.4
CAD=$TMP/cafrom
mkdir -p "$CAD"
cp "$CP$K8S/pki/ca.crt" "$CP$K8S/pki/ca.key" "$CAD/"

# worker ROOT: ca.crt and an empty /var/lib/kubelet/pki
worker() {
	mkdir -p "$1$K8S/pki" "$1$KP"
	chmod 0700 "$1/var/lib/kubelet"
	cp "$CAD/ca.crt" "$1$K8S/pki/ca.crt"
	chmod 0644 "$1$K8S/pki/ca.crt"
}
SRV=https://cp.example.test:6443

# ===== a worker without kubelet.conf ========================================
W=$TMP/w1
worker "$W"
cp -a "$W" "$TMP/w1-before"
expect_exit 0 worker-exit-0 "$KRESCUE" kubelet --root "$W" --node worker-1 --server "$SRV" --ca-from "$CAD"
judge worker "$W" worker-1 "$SRV" ""
if find "$W" -path "$W/var/lib/krescue" -prune -o -type f -print | xargs grep -l 'PRIVATE KEY' 2>/dev/null |
    xargs -r cat | grep -qF "$(sed -n 2p "$CAD/ca.key")"; then
	fail worker-ca-key-not-copied "the CA key was written onto the worker"
else
	pass worker-ca-key-not-copied
fi
# rollback: the worker as it was
expect_exit 0 worker-rollback-exit-0 "$KRESCUE" rollback --root "$W"
listing "$TMP/w1-before" >"$TMP/.lb"
listing "$W" >"$TMP/.la"
if cmp -s "$TMP/.lb" "$TMP/.la"; then
	pass worker-rollback-restores
else
	fail worker-rollback-restores "$(diff "$TMP/.lb" "$TMP/.la" | sed -n 's/^[<>] //p' | head -n 4 | tr '\n' ' ')"
fi

# ===== a worker with an expired embedded kubelet.conf =======================
X=$TMP/xp
mktree kubeadm "$X" --version 1.28.4 --expired
W=$TMP/w2
worker "$W"
cp "$X$K8S/kubelet.conf" "$W$K8S/kubelet.conf"
chmod 0600 "$W$K8S/kubelet.conf"
expect_exit 0 expired-worker-exit-0 "$KRESCUE" kubelet --root "$W" --node worker-2 --ca-from "$CAD"
# no --server: the one in the old kubelet.conf stays
judge expired-worker "$W" worker-2 "$SRV" ""

# ===== a control plane after kubelet-finalize, its own CA ===================
C=$TMP/cpf
mktree kubeadm "$C" --version 1.28.4 --kubelet-finalize
OLDP=$(newpems "$C")
cp -a "$C" "$TMP/cpf-before"
expect_exit 0 cp-exit-0 "$KRESCUE" kubelet --root "$C" --node cp-1
judge cp "$C" cp-1 "$SRV" "$OLDP"
# kubeadm's names in kubelet.conf are kept
for k in 'current-context: system:node:cp-1@rescue-test' '  name: rescue-test'; do
	grep -qxF "$k" "$C$K8S/kubelet.conf" && pass "cp-conf-keeps '$k'" || fail "cp-conf-keeps '$k'" "gone"
done
kb=
for f in ca.crt ca.key apiserver.crt sa.key; do
	cmp -s "$TMP/cpf-before$K8S/pki/$f" "$C$K8S/pki/$f" || kb="$kb $f"
done
[ -z "$kb" ] && pass cp-pki-untouched || fail cp-pki-untouched "$kb"

# ===== --dry-run ============================================================
W=$TMP/w3
worker "$W"
H=$(tree_hash "$W")
expect_exit 0 dry-run-exit-0 "$KRESCUE" kubelet --root "$W" --node worker-3 --server "$SRV" --ca-from "$CAD" --dry-run
[ "$(tree_hash "$W")" = "$H" ] && pass dry-run-changes-nothing || fail dry-run-changes-nothing "tree changed"

# ===== must-fail ============================================================
W=$TMP/w4
worker "$W"
H=$(tree_hash "$W")
expect_exit 1 no-ca-key-refused "$KRESCUE" kubelet --root "$W" --node worker-4 --server "$SRV"
grep -qi 'key' "$ERR" && pass no-ca-key-says-why || fail no-ca-key-says-why "$(why_err)"
[ "$(tree_hash "$W")" = "$H" ] && pass no-ca-key-tree-unchanged || fail no-ca-key-tree-unchanged "tree changed"
expect_exit 100 bad-node-name-usage "$KRESCUE" kubelet --root "$W" --node Upper_Case --server "$SRV" --ca-from "$CAD"
[ "$(tree_hash "$W")" = "$H" ] && pass bad-node-name-tree-unchanged || fail bad-node-name-tree-unchanged "tree changed"
expect_exit 100 no-node-usage "$KRESCUE" kubelet --root "$W" --server "$SRV" --ca-from "$CAD"
# a --ca-from whose key is not ca.crt's
BAD=$TMP/badca
mkdir -p "$BAD"
cp "$CAD/ca.crt" "$BAD/ca.crt"
openssl genrsa -out "$BAD/ca.key" 2048 >/dev/null 2>&1
expect_exit 1 ca-from-wrong-key-refused "$KRESCUE" kubelet --root "$W" --node worker-4 --server "$SRV" --ca-from "$BAD"
[ "$(tree_hash "$W")" = "$H" ] && pass ca-from-wrong-key-tree-unchanged || fail ca-from-wrong-key-tree-unchanged "tree changed"

finish
