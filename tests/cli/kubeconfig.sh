#!/bin/sh
# tests/cli/kubeconfig.sh: `krescue kubeconfig --user NAME --group G...`
# on a kubeadm 1.28.4 control plane: a 0600 kubeconfig that kubectl and
# python parse, with a client cert CN=NAME, O=G1, O=G2 (in order),
# clientAuth, signed by the cluster CA, admin.conf's server and cluster
# name; --key-type ECDSA-P384; stdout; no overwriting; must-fail cases.
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

KC="$PYTHON $TMP/kc.py"
cat >"$TMP/kc.py" <<'PY'
import warnings; warnings.simplefilter("ignore")
import base64, datetime, sys, time
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def main(conf, admin, user, groups, keytype, secs, outdir):
    with open(conf) as f:
        d = yaml.safe_load(f)
    with open(admin) as f:
        a = yaml.safe_load(f)
    bad = []
    cl, acl = d["clusters"][0], a["clusters"][0]
    if cl["cluster"].get("server") != acl["cluster"]["server"]:
        bad.append("server %s, admin.conf %s" % (cl["cluster"].get("server"),
                                                acl["cluster"]["server"]))
    if cl["cluster"].get("certificate-authority-data") != \
            acl["cluster"]["certificate-authority-data"]:
        bad.append("certificate-authority-data is not the cluster CA's")
    ctx = d["contexts"][0]
    if (d.get("current-context") != ctx["name"] or
            ctx["context"].get("cluster") != cl["name"] or
            ctx["context"].get("user") != d["users"][0]["name"] or
            cl["name"] != acl["name"]):
        bad.append("names: cluster %s (admin.conf %s), context %s, current %s" % (
            cl["name"], acl["name"], ctx, d.get("current-context")))
    u = d["users"][0]["user"]
    cd = base64.b64decode(u["client-certificate-data"])
    kd = base64.b64decode(u["client-key-data"])
    c = x509.load_pem_x509_certificate(cd)
    cn = [v.value for v in c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [v.value for v in c.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME)]
    # all O values sit in one SET, which DER sorts by encoding (as Go
    # does): compare them as a set
    if cn != [user] or sorted(orgs) != sorted(g for g in groups.split(",") if g):
        bad.append("subject %s" % c.subject.rfc4514_string())
    eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if list(eku) != [ExtendedKeyUsageOID.CLIENT_AUTH]:
        bad.append("EKU %s" % list(eku))
    bc = c.extensions.get_extension_for_class(x509.BasicConstraints).value
    if bc.ca:
        bad.append("CA:TRUE")
    key = serialization.load_pem_private_key(kd, None)
    pub = c.public_key()
    if keytype.startswith("ECDSA"):
        want = {"ECDSA-P256": "secp256r1", "ECDSA-P384": "secp384r1"}[keytype]
        if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != want:
            bad.append("key is not %s" % keytype)
        if not kd.startswith(b"-----BEGIN EC PRIVATE KEY-----"):
            bad.append("key PEM is not EC PRIVATE KEY")
    else:
        if not isinstance(pub, rsa.RSAPublicKey) or \
                pub.key_size != int(keytype.split("-")[1]):
            bad.append("key is not %s" % keytype)
        if not kd.startswith(b"-----BEGIN RSA PRIVATE KEY-----"):
            bad.append("key PEM is not RSA PRIVATE KEY")
    sp = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, sp) != \
            pub.public_bytes(serialization.Encoding.DER, sp):
        bad.append("key does not match the cert")
    na = c.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()
    if abs(na - time.time() - float(secs)) > 120:
        bad.append("NotAfter %s, want now + %ss" % (c.not_valid_after, secs))
    with open(outdir + "/cert.pem", "wb") as f:
        f.write(cd)
    with open(outdir + "/key.pem", "wb") as f:
        f.write(kd)
    if bad:
        print("; ".join(bad))


if __name__ == "__main__":
    main(*sys.argv[1:])
PY

R=$TMP/cp
mktree kubeadm "$R" --version 1.28.4
ADMIN=$R$K8S/admin.conf
CA=$R$K8S/pki/ca.crt

# judge TAG CONF USER GROUPS KEYTYPE SECS: the kubeconfig's content
judge() {
	mkdir -p "$TMP/j-$1"
	$KC "$2" "$ADMIN" "$3" "$4" "$5" "$6" "$TMP/j-$1" >"$TMP/.j" 2>&1
	[ -s "$TMP/.j" ] && fail "$1-content" "$(head -c 300 "$TMP/.j")" || pass "$1-content"
	if openssl verify -CAfile "$CA" -x509_strict "$TMP/j-$1/cert.pem" >/dev/null 2>&1; then
		pass "$1-signed-by-cluster-ca"
	else
		fail "$1-signed-by-cluster-ca" "openssl verify against ca.crt failed"
	fi
	if command -v kubectl >/dev/null 2>&1; then
		if kubectl config view --kubeconfig "$2" -o jsonpath='{.current-context}' >"$TMP/.kv" 2>&1 &&
		    [ -n "$(cat "$TMP/.kv")" ]; then
			pass "$1-kubectl-parses"
		else
			fail "$1-kubectl-parses" "$(head -c 200 "$TMP/.kv")"
		fi
	fi
}

F=$TMP/out/alice.conf
mkdir -p "$TMP/out"
H=$(tree_hash "$R")
expect_exit 0 file-exit-0 "$KRESCUE" kubeconfig --root "$R" --user alice --group devs --group ops -o "$F"
[ "$(stat -c %a "$F" 2>/dev/null)" = 600 ] && pass file-mode-0600 || fail file-mode-0600 "mode $(stat -c %a "$F" 2>/dev/null)"
judge file "$F" alice devs,ops RSA-2048 31536000
subj=$(openssl x509 -in "$TMP/j-file/cert.pem" -noout -subject -nameopt RFC2253 2>&1)
# Go puts all O values in one multi-valued RDN (pkix.Name.appendRDNs)
[ "$subj" = "subject=CN=alice,O=devs+O=ops" ] && pass file-subject-rfc2253 || fail file-subject-rfc2253 "$subj"
[ "$(tree_hash "$R")" = "$H" ] && pass file-node-untouched || fail file-node-untouched "the node's tree changed"

# the existing file is not overwritten
cp "$F" "$TMP/alice.before"
run "$KRESCUE" kubeconfig --root "$R" --user bob -o "$F"
if [ "$RC" -ne 0 ] && cmp -s "$F" "$TMP/alice.before"; then
	pass no-overwrite
else
	fail no-overwrite "exit $RC, file $(cmp -s "$F" "$TMP/alice.before" && echo kept || echo replaced)"
fi
[ "$RC" -eq 1 ] && pass no-overwrite-exit-1-refused || fail no-overwrite-exit-1-refused "exit $RC (help: 1 refused, 111 I/O error): $(why_err)"

# ECDSA-P384, a validity, a server
F=$TMP/out/p384.conf
expect_exit 0 p384-exit-0 "$KRESCUE" kubeconfig --root "$R" --user carol --key-type ECDSA-P384 --validity 720h -o "$F"
judge p384 "$F" carol "" ECDSA-P384 2592000
openssl x509 -in "$TMP/j-p384/cert.pem" -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-384' &&
    pass p384-openssl-says-P-384 || fail p384-openssl-says-P-384 "openssl shows no P-384 key"

F=$TMP/out/srv.conf
expect_exit 0 server-exit-0 "$KRESCUE" kubeconfig --root "$R" --user dave --server https://10.9.9.9:7443 -o "$F"
grep -q 'server: https://10.9.9.9:7443$' "$F" && pass server-flag || fail server-flag "$(grep server: "$F")"

# standard output
expect_exit 0 stdout-exit-0 "$KRESCUE" kubeconfig --root "$R" --user erin --group g1
cp "$OUT" "$TMP/out/stdout.conf"
judge stdout "$TMP/out/stdout.conf" erin g1 RSA-2048 31536000

# must-fail: a worker-like tree (ca.crt only) has no CA key
W=$TMP/worker
mkdir -p "$W$K8S/pki"
cp "$CA" "$W$K8S/pki/ca.crt"
H=$(tree_hash "$W")
expect_exit 1 no-ca-key-refused "$KRESCUE" kubeconfig --root "$W" --user alice -o "$TMP/out/w.conf"
[ ! -e "$TMP/out/w.conf" ] && pass no-ca-key-no-file || fail no-ca-key-no-file "a file was written"
grep -qi 'key' "$ERR" && pass no-ca-key-says-why || fail no-ca-key-says-why "$(why_err)"
[ "$(tree_hash "$W")" = "$H" ] && pass no-ca-key-tree-unchanged || fail no-ca-key-tree-unchanged "tree changed"
# ... but works with --ca-from
mkdir -p "$TMP/cafrom"
cp "$CA" "$R$K8S/pki/ca.key" "$TMP/cafrom/"
expect_exit 0 ca-from-exit-0 "$KRESCUE" kubeconfig --root "$W" --ca-from "$TMP/cafrom" --user frank --server https://cp.example.test:6443 -o "$TMP/out/cafrom.conf"
$MKTREE embedded "$TMP/out/cafrom.conf" >"$TMP/cafrom.pem" 2>/dev/null
openssl verify -CAfile "$CA" "$TMP/cafrom.pem" >/dev/null 2>&1 && pass ca-from-signed || fail ca-from-signed "not signed by ca.crt"

expect_exit 100 no-user-usage "$KRESCUE" kubeconfig --root "$R" -o "$TMP/out/nouser.conf"
[ ! -e "$TMP/out/nouser.conf" ] && pass no-user-no-file || fail no-user-no-file "a file was written"
expect_exit 100 bad-key-type-usage "$KRESCUE" kubeconfig --root "$R" --user x --key-type DSA-1024

finish
