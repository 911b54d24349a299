#!/bin/sh
# tests/cli/renew-ca.sh: `krescue renew-ca` on a kubeadm 1.28.4 tree.  The
# re-issued CA keeps subject bytes, key, SKI and every extension, gets a new
# serial and a later NotAfter (10 years, or --validity); every old leaf and
# kubeconfig client cert still verifies against it (openssl verify -attime
# inside their validity); kubeconfigs get the new certificate-authority-data
# and no other byte changes.  --ca NAME touches only that CA, --dry-run
# nothing; an expired CA is re-issued and check passes afterwards.
# Must-fail: a ca.key that does not match ca.crt, a CA without its key.
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
CONFS="etc/kubernetes/admin.conf etc/kubernetes/kubelet.conf etc/kubernetes/controller-manager.conf etc/kubernetes/scheduler.conf root/.kube/config"

CT="$PYTHON $TMP/ca.py"
cat >"$TMP/ca.py" <<'PY'
import warnings; warnings.simplefilter("ignore")
import base64, datetime, os, sys
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, padding

UTC = datetime.timezone.utc


def load(p):
    with open(p, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def ts(d):
    return d.replace(tzinfo=UTC).timestamp()


def spki(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def exts(c):
    return [(e.oid.dotted_string, e.critical, e.value.public_bytes())
            for e in c.extensions]


def selfsigned(c):
    pub = c.public_key()
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(c.signature, c.tbs_certificate_bytes, padding.PKCS1v15(),
                       c.signature_hash_algorithm)
        else:
            pub.verify(c.signature, c.tbs_certificate_bytes,
                       ec.ECDSA(c.signature_hash_algorithm))
        return True
    except Exception:
        return False


def cmd_same(old_p, new_p, secs, t0, t1):
    """one line per problem; nothing when the CA was re-issued correctly"""
    o, n = load(old_p), load(new_p)
    secs, t0, t1 = float(secs), float(t0), float(t1)
    bad = []
    if n.subject.public_bytes() != o.subject.public_bytes():
        bad.append("subject bytes changed")
    if n.issuer.public_bytes() != n.subject.public_bytes():
        bad.append("issuer bytes != subject bytes")
    if spki(n.public_key()) != spki(o.public_key()):
        bad.append("public key changed")
    if exts(n) != exts(o):
        bad.append("extensions changed: %s -> %s" % (
            [(a, b) for a, b, _ in exts(o)], [(a, b) for a, b, _ in exts(n)]))
    if n.serial_number == o.serial_number:
        bad.append("serial unchanged")
    if not 0 < n.serial_number < 1 << 63:
        bad.append("serial out of range")
    if not selfsigned(n):
        bad.append("self-signature does not verify")
    if n.signature_algorithm_oid != o.signature_algorithm_oid:
        bad.append("signature algorithm changed")
    na = ts(n.not_valid_after)
    if not t0 + secs - 2 <= na <= t1 + secs + 2:
        bad.append("NotAfter %s, want run time + %ds" % (n.not_valid_after, secs))
    if ts(n.not_valid_before) > t0:
        bad.append("NotBefore %s is after the run started" % n.not_valid_before)
    if ts(n.not_valid_after) <= ts(o.not_valid_after):
        bad.append("NotAfter not extended")
    if bad:
        print("\n".join(bad))


def cmd_expire(crt, key):
    """re-sign the CA with its own key, same everything, validity past"""
    c = load(crt)
    with open(key, "rb") as f:
        k = serialization.load_pem_private_key(f.read(), None)
    b = (x509.CertificateBuilder().subject_name(c.subject)
         .issuer_name(c.issuer).public_key(c.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(datetime.datetime(2015, 1, 1, tzinfo=UTC))
         .not_valid_after(datetime.datetime(2025, 1, 1, tzinfo=UTC)))
    for e in c.extensions:
        b = b.add_extension(e.value, e.critical)
    new = b.sign(k, hashes.SHA256())
    with open(crt, "wb") as f:
        f.write(new.public_bytes(serialization.Encoding.PEM))


def cmd_cadata(conf):
    with open(conf) as f:
        d = yaml.safe_load(f)
    sys.stdout.buffer.write(base64.b64decode(
        d["clusters"][0]["cluster"]["certificate-authority-data"]))


def cmd_client(conf):
    with open(conf) as f:
        d = yaml.safe_load(f)
    u = d["users"][0]["user"]
    if "client-certificate-data" in u:
        sys.stdout.buffer.write(base64.b64decode(u["client-certificate-data"]))


def cmd_attimes(crt, ca):
    """moments inside both validities: NotBefore+60 s (of the later of the
    two), and NotAfter-60 s (of the earlier)"""
    c, a = load(crt), load(ca)
    lo = max(ts(c.not_valid_before), ts(a.not_valid_before)) + 60
    hi = min(ts(c.not_valid_after), ts(a.not_valid_after)) - 60
    print("%d %d" % (lo, hi))


def cmd_newkey(path):
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(path, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()))


if __name__ == "__main__":
    {"same": cmd_same, "expire": cmd_expire, "cadata": cmd_cadata,
     "client": cmd_client, "attimes": cmd_attimes,
     "newkey": cmd_newkey}[sys.argv[1]](*sys.argv[2:])
PY

# listing ROOT: every entry, its mode and content hash; krescue's own state
# (/var/lib/krescue, and the var and var/lib directories it may create for
# it) left out
listing() {
	(cd "$1" && find . -path ./var/lib/krescue -prune -o -printf '%y %m %p %l\n' |
	    grep -v '^d [0-7]* \./var\(/lib\)\{0,1\} $' | sort
	 cd "$1" && find . -path ./var/lib/krescue -prune -o -type f -exec sha256sum {} + | sort -k 2)
}
# changed OLD NEW: paths whose listing lines differ
changed() {
	listing "$1" >"$TMP/.l1"
	listing "$2" >"$TMP/.l2"
	diff "$TMP/.l1" "$TMP/.l2" | sed -n 's/^[<>] //p' |
	    awk '{ print (length($1) == 64) ? $2 : $3 }' | sort -u | tr '\n' ' '
}
mask_ca() { sed -E 's/^( *certificate-authority-data:).*/\1 X/' "$1"; }

# same_ca TAG OLD NEW SECS: the CA was re-issued as promised
same_ca() {
	$CT same "$2" "$3" "$4" "$T0" "$T1" >"$TMP/.same" 2>&1
	if [ -s "$TMP/.same" ]; then
		fail "$1" "$(head -n 3 "$TMP/.same" | tr '\n' ' ' | cut -c 1-300)"
	else
		pass "$1"
	fi
}

# leaves_verify TAG ROOT CA-REL LEAF-RELS...: each leaf verifies against
# the CA at a moment inside both validities, early and late
leaves_verify() {
	lv_tag=$1 lv_root=$2 lv_ca=$2$K8S/pki/$3
	shift 3
	lv_bad= lv_n=0
	for lv in "$@"; do
		case $lv in
		*.crt) cp "$lv_root$K8S/pki/$lv" "$TMP/.leaf" ;;
		*) $CT client "$lv_root/$lv" >"$TMP/.leaf" ;;
		esac
		for at in $($CT attimes "$TMP/.leaf" "$lv_ca"); do
			lv_n=$((lv_n + 1))
			openssl verify -attime "$at" -CAfile "$lv_ca" "$TMP/.leaf" >/dev/null 2>&1 ||
			    lv_bad="$lv_bad $lv@$at"
		done
	done
	if [ -z "$lv_bad" ] && [ "$lv_n" -gt 0 ]; then
		pass "$lv_tag ($lv_n checks)"
	else
		fail "$lv_tag" "openssl verify -attime failed:$lv_bad"
	fi
}

# kcfgs_updated TAG OLDROOT NEWROOT: CA data = new ca.crt, other bytes kept
kcfgs_updated() {
	ku_bad=
	for c in $CONFS; do
		$CT cadata "$3/$c" >"$TMP/.cad" 2>/dev/null
		cmp -s "$TMP/.cad" "$3$K8S/pki/ca.crt" || ku_bad="$ku_bad $c(ca-data)"
		[ "$(mask_ca "$2/$c")" = "$(mask_ca "$3/$c")" ] || ku_bad="$ku_bad $c(other-bytes)"
		[ "$(stat -c %a "$3/$c")" = "$(stat -c %a "$2/$c")" ] || ku_bad="$ku_bad $c(mode)"
	done
	if [ -z "$ku_bad" ]; then
		pass "$1"
	else
		fail "$1" "$ku_bad"
	fi
}

LEAVES_CA="apiserver.crt apiserver-kubelet-client.crt $CONFS"
LEAVES_FP="front-proxy-client.crt"
LEAVES_ETCD="apiserver-etcd-client.crt etcd/server.crt etcd/peer.crt etcd/healthcheck-client.crt"
TEN_Y=315360000

# ===== all three CAs, default validity =====================================
R=$TMP/all
mktree kubeadm "$R" --version 1.28.4
cp -a "$R" "$TMP/all-before"
B=$TMP/all-before
T0=$(date +%s)
expect_exit 0 all-exit-0 "$KRESCUE" renew-ca --root "$R"
T1=$(($(date +%s) + 1))
grep -q 'ca.crt' "$OUT" && pass all-prints-what-to-copy || fail all-prints-what-to-copy "stdout does not name ca.crt"
same_ca all-ca-same-subject-key-ski-exts "$B$K8S/pki/ca.crt" "$R$K8S/pki/ca.crt" $TEN_Y
same_ca all-front-proxy-ca-same "$B$K8S/pki/front-proxy-ca.crt" "$R$K8S/pki/front-proxy-ca.crt" $TEN_Y
same_ca all-etcd-ca-same "$B$K8S/pki/etcd/ca.crt" "$R$K8S/pki/etcd/ca.crt" $TEN_Y
# openssl's own view of subject and SKI, as a second opinion
for ca in ca front-proxy-ca etcd/ca; do
	a=$(openssl x509 -in "$B$K8S/pki/$ca.crt" -noout -subject -ext subjectKeyIdentifier -pubkey)
	b=$(openssl x509 -in "$R$K8S/pki/$ca.crt" -noout -subject -ext subjectKeyIdentifier -pubkey)
	[ -n "$a" ] && [ "$a" = "$b" ] && pass "all-$ca-openssl-subject-ski-pubkey" ||
	    fail "all-$ca-openssl-subject-ski-pubkey" "openssl shows a different subject, SKI or key"
	[ "$(openssl x509 -in "$B$K8S/pki/$ca.crt" -noout -serial)" != "$(openssl x509 -in "$R$K8S/pki/$ca.crt" -noout -serial)" ] &&
	    pass "all-$ca-new-serial" || fail "all-$ca-new-serial" "serial unchanged"
done
leaves_verify all-ca-leaves-verify "$R" ca.crt $LEAVES_CA
leaves_verify all-front-proxy-leaves-verify "$R" front-proxy-ca.crt $LEAVES_FP
leaves_verify all-etcd-leaves-verify "$R" etcd/ca.crt $LEAVES_ETCD
kcfgs_updated all-kubeconfigs-ca-data-only "$B" "$R"
ch=$(changed "$B" "$R")
want="./etc/kubernetes/admin.conf ./etc/kubernetes/controller-manager.conf ./etc/kubernetes/kubelet.conf ./etc/kubernetes/pki/ca.crt ./etc/kubernetes/pki/etcd/ca.crt ./etc/kubernetes/pki/front-proxy-ca.crt ./etc/kubernetes/scheduler.conf ./root/.kube/config "
[ "$ch" = "$want" ] && pass all-changed-exactly-cas-and-kubeconfigs ||
    fail all-changed-exactly-cas-and-kubeconfigs "changed: $ch"
kb=
for k in ca.key front-proxy-ca.key etcd/ca.key sa.key sa.pub; do
	cmp -s "$B$K8S/pki/$k" "$R$K8S/pki/$k" || kb="$kb $k"
done
[ -z "$kb" ] && pass all-keys-untouched || fail all-keys-untouched "$kb"
run "$KRESCUE" check --root "$R"
[ "$RC" -eq 0 ] && pass all-check-exit-0 || fail all-check-exit-0 "check exit $RC"

# the old CA is gone, but the old leaves still verify, and the same leaves
# are refused by an unrelated CA with the same subject (the test can fail)
$MKTREE foreign-ca "$R$K8S/pki/apiserver.crt" >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=kubernetes -days 1 \
    -keyout "$TMP/other.key" -out "$TMP/other.crt" >/dev/null 2>&1
if openssl verify -CAfile "$TMP/other.crt" "$B$K8S/pki/apiserver.crt" >/dev/null 2>&1; then
	fail all-foreign-ca-refused "a leaf verified against an unrelated CA: verification proves nothing"
else
	pass all-foreign-ca-refused
fi

# ===== --validity ===========================================================
R=$TMP/val
mktree kubeadm "$R" --version 1.28.4
cp -a "$R$K8S/pki/ca.crt" "$TMP/val-ca-before.crt"
T0=$(date +%s)
expect_exit 0 validity-exit-0 "$KRESCUE" renew-ca --root "$R" --ca ca --validity 175200h
T1=$(($(date +%s) + 1))
same_ca validity-175200h "$TMP/val-ca-before.crt" "$R$K8S/pki/ca.crt" 630720000

# ===== --ca front-proxy-ca: only that file ==================================
R=$TMP/fp
mktree kubeadm "$R" --version 1.28.4
cp -a "$R" "$TMP/fp-before"
T0=$(date +%s)
expect_exit 0 fp-exit-0 "$KRESCUE" renew-ca --root "$R" --ca front-proxy-ca
T1=$(($(date +%s) + 1))
ch=$(changed "$TMP/fp-before" "$R")
[ "$ch" = "./etc/kubernetes/pki/front-proxy-ca.crt " ] && pass fp-only-front-proxy-ca ||
    fail fp-only-front-proxy-ca "changed: $ch"
same_ca fp-front-proxy-ca-same "$TMP/fp-before$K8S/pki/front-proxy-ca.crt" "$R$K8S/pki/front-proxy-ca.crt" $TEN_Y
leaves_verify fp-leaves-verify "$R" front-proxy-ca.crt $LEAVES_FP

# ===== --dry-run ============================================================
R=$TMP/dry
mktree kubeadm "$R" --version 1.28.4
H=$(tree_hash "$R")
expect_exit 0 dry-run-exit-0 "$KRESCUE" renew-ca --root "$R" --dry-run
[ "$(tree_hash "$R")" = "$H" ] && pass dry-run-changes-nothing ||
    fail dry-run-changes-nothing "tree changed"

# ===== an expired CA =========================================================
R=$TMP/exp
mktree kubeadm "$R" --version 1.28.4
$CT expire "$R$K8S/pki/ca.crt" "$R$K8S/pki/ca.key"
cp "$R$K8S/pki/ca.crt" "$TMP/exp-ca-before.crt"
run "$KRESCUE" check --root "$R"
[ "$RC" -ne 0 ] && pass expired-ca-check-fails-before || fail expired-ca-check-fails-before "check exit 0 with an expired CA"
T0=$(date +%s)
expect_exit 0 expired-ca-exit-0 "$KRESCUE" renew-ca --root "$R" --ca ca
T1=$(($(date +%s) + 1))
if grep -qi 'other node\|every node\|all nodes\|each node\|worker' "$OUT" "$ERR"; then
	pass expired-ca-note-other-nodes
else
	fail expired-ca-note-other-nodes "no note that the other nodes need the new ca.crt"
fi
same_ca expired-ca-reissued "$TMP/exp-ca-before.crt" "$R$K8S/pki/ca.crt" $TEN_Y
leaves_verify expired-ca-leaves-verify "$R" ca.crt $LEAVES_CA
run "$KRESCUE" check --root "$R"
[ "$RC" -eq 0 ] && pass expired-ca-check-passes-after ||
    fail expired-ca-check-passes-after "check exit $RC: $(grep -i 'expired\|invalid\|error' "$OUT" | head -n 2 | tr '\n' ' ' | cut -c 1-200)"

# ===== must-fail ============================================================
# refuse TAG ROOT ARGS...: exit 1, a message, the tree exactly as it was
refuse() {
	rf_tag=$1 rf_root=$2
	shift 2
	listing "$rf_root" >"$TMP/.rf"
	H=$(tree_hash "$rf_root")
	run "$KRESCUE" renew-ca --root "$rf_root" "$@"
	[ "$RC" -eq 1 ] && pass "$rf_tag-exit-1" || fail "$rf_tag-exit-1" "exit $RC ($(why_err))"
	[ -s "$ERR" ] && pass "$rf_tag-says-why" || fail "$rf_tag-says-why" "nothing on stderr"
	if [ "$(tree_hash "$rf_root")" = "$H" ]; then
		pass "$rf_tag-tree-unchanged"
	else
		fail "$rf_tag-tree-unchanged" "changed: $(listing "$rf_root" | diff "$TMP/.rf" - | sed -n 's/^[<>] //p' | head -n 4 | tr '\n' ' ')"
	fi
}
R=$TMP/wrongkey
mktree kubeadm "$R" --version 1.28.4
$CT newkey "$R$K8S/pki/ca.key"
refuse wrong-key "$R" --ca ca
refuse wrong-key-all "$R"
R=$TMP/nokey
mktree kubeadm "$R" --version 1.28.4
rm "$R$K8S/pki/ca.key"
refuse ca-without-key "$R" --ca ca
grep -qi 'key' "$ERR" && pass ca-without-key-names-the-key || fail ca-without-key-names-the-key "$(why_err)"
R=$TMP/badname
mktree kubeadm "$R" --version 1.28.4
H=$(tree_hash "$R")
expect_exit 100 unknown-ca-name-usage "$KRESCUE" renew-ca --root "$R" --ca no-such-ca
[ "$(tree_hash "$R")" = "$H" ] && pass unknown-ca-name-tree-unchanged || fail unknown-ca-name-tree-unchanged "tree changed"

finish
