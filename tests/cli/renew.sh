#!/bin/sh
# tests/cli/renew.sh: `krescue renew` on expired kubeadm 1.28.4 (after the
# kubelet-finalize phase), kubeadm 1.20.2 and Kubespray trees.  Every
# renewed certificate is compared with the one it replaced, field by field
# (openssl's view and the raw DER), with real kubeadm's renewal output
# (fixtures, 1.28.4), verified against its CA at the real time, and its key
# checked; then the options (--dry-run, --only, --reuse-keys, --validity,
# --expiring-within), the backup, and the must-fail refusals (external CA,
# expired CA, wrong key, symlink leaving the root, lock held, read-only
# root, full disk), each of which must leave the tree exactly as it was.
. "$(dirname "$0")/../lib.sh"
require_krescue

for tool in openssl flock; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		sh scripts/install-pkgs.sh openssl util-linux >/dev/null 2>&1
		break
	fi
done
if ! command -v openssl >/dev/null 2>&1; then
	fail openssl "openssl is not installed (sh scripts/install-pkgs.sh openssl)"
	exit 1
fi

MOUNTS=
r_cleanup() {
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	[ -n "${LOCKPID:-}" ] && kill "$LOCKPID" 2>/dev/null
	t_cleanup
}
trap 'r_cleanup' EXIT

YEAR=31536000			# 8760h in seconds
PKI=/etc/kubernetes/pki
KPEM=/var/lib/kubelet/pki/kubelet-client-current.pem
FIELDS="-noout -subject -issuer -ext subjectAltName,keyUsage,extendedKeyUsage,basicConstraints,authorityKeyIdentifier,subjectKeyIdentifier -nameopt RFC2253"

# --- a small python helper: raw DER fields, keys, kubeconfig data ---------
CT="$PYTHON $TMP/certtool.py"
cat >"$TMP/certtool.py" <<'PY'
import base64, datetime, hashlib, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SKI = "2.5.29.14"
AKI = "2.5.29.35"
SAN = "2.5.29.17"


def der_item(buf, off):
    tag = buf[off]
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        cnt = n & 0x7f
        n = int.from_bytes(buf[off:off + cnt], "big")
        off += cnt
    return tag, off, off + n


def der_kids(buf, start, end):
    out = []
    while start < end:
        tag, cs, ce = der_item(buf, start)
        out.append((tag, start, cs, ce))
        start = ce
    return out


def raw_fields(cert):
    """issuer DER, subject DER, [(oid, critical, value bytes)] in order."""
    tbs = cert.tbs_certificate_bytes
    _, cs, ce = der_item(tbs, 0)
    kids = der_kids(tbs, cs, ce)
    i = 1 if kids[0][0] == 0xa0 else 0
    issuer = tbs[kids[i + 2][1]:kids[i + 2][3]]
    subject = tbs[kids[i + 4][1]:kids[i + 4][3]]
    exts = []
    parsed = list(cert.extensions)
    for tag, _, kcs, _ in kids[i + 6:]:
        if tag != 0xa3:
            continue
        _, scs, sce = der_item(tbs, kcs)
        for _, _, ecs, ece in der_kids(tbs, scs, sce):
            parts = der_kids(tbs, ecs, ece)
            crit = len(parts) == 3 and tbs[parts[1][2]:parts[1][3]] != b"\0"
            oid = parsed[len(exts)].oid.dotted_string
            exts.append((oid, crit, tbs[parts[-1][2]:parts[-1][3]]))
    return issuer, subject, exts


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def problem(msg):
    print("problem: " + msg)
    return 1


def cmd_fields(old_p, new_p, ca_p):
    """The renewed cert keeps what kubeadm's renewal keeps."""
    old, new, ca = load_cert(old_p), load_cert(new_p), load_cert(ca_p)
    bad = 0
    _, osub, oext = raw_fields(old)
    niss, nsub, next_ = raw_fields(new)
    _, casub, _ = raw_fields(ca)
    if nsub != osub:
        bad |= problem("subject bytes differ")
    if niss != casub:
        bad |= problem("issuer bytes differ from the CA's subject bytes")
    if new.version != x509.Version.v3:
        bad |= problem("not X.509 v3")
    if new.serial_number == old.serial_number:
        bad |= problem("serial unchanged")
    if not 0 < new.serial_number < 1 << 63:
        bad |= problem("serial %d outside [1, 2^63)" % new.serial_number)
    # kubeadm's leaves have no SKI and must not get one; a leaf that had
    # one (Kubespray's openssl-made etcd certs) keeps one, for its new key
    had_ski = any(o == SKI for o, _, _ in oext)
    has_ski = any(o == SKI for o, _, _ in next_)
    if has_ski and not had_ski:
        bad |= problem("the new leaf has a SubjectKeyIdentifier")
    if had_ski and not has_ski:
        bad |= problem("the SubjectKeyIdentifier is gone")
    if has_ski:
        want = x509.SubjectKeyIdentifier.from_public_key(new.public_key())
        got = new.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value
        if got.digest != want.digest:
            bad |= problem("the SubjectKeyIdentifier is not the new key's")
    # kubeadm's renewal passes the SANs through RemoveDuplicateAltNames:
    # DNS names de-duplicated and sorted, IPs de-duplicated in order
    if any(o == SAN for o, _, _ in oext):
        try:
            osan = old.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value
            nsan = new.extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value
            odns = sorted(set(osan.get_values_for_type(x509.DNSName)))
            oips = []
            for ip in osan.get_values_for_type(x509.IPAddress):
                if ip not in oips:
                    oips.append(ip)
            if (odns != nsan.get_values_for_type(x509.DNSName) or
                    oips != nsan.get_values_for_type(x509.IPAddress) or
                    len(list(nsan)) != len(odns) + len(oips)):
                bad |= problem("SANs %s, want %s" % (
                    [str(v.value) for v in nsan], odns + [str(i) for i in oips]))
        except x509.ExtensionNotFound:
            bad |= problem("the SAN extension is gone")
    ko = [e[:2] if e[0] == SAN else e for e in oext if e[0] not in (SKI, AKI)]
    kn = [e[:2] if e[0] == SAN else e for e in next_ if e[0] not in (SKI, AKI)]
    if ko != kn:
        oc = [e[:2] for e in ko]
        nc = [e[:2] for e in kn]
        if oc != nc:
            bad |= problem("extensions (oid, critical): old %s, new %s" % (
                oc, nc))
        else:
            bad |= problem("extension values differ: %s" % [
                a[0] for a, b in zip(ko, kn) if a != b])
    aki = [e for e in next_ if e[0] == AKI]
    if len(aki) != 1:
        bad |= problem("no AuthorityKeyIdentifier")
    else:
        if aki[0][1]:
            bad |= problem("AuthorityKeyIdentifier is critical")
        got = new.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
        want = ca.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest
        if got != want:
            bad |= problem("AuthorityKeyIdentifier is not the CA's SKI")
    if new.signature_hash_algorithm.name != old.signature_hash_algorithm.name:
        bad |= problem("signature hash changed")
    return bad


def cmd_validity(path, secs):
    """NotBefore = real now - 5m (signing time); NotAfter = that + secs."""
    c = load_cert(path)
    utc = datetime.timezone.utc
    nbd = c.not_valid_before.replace(tzinfo=utc)
    nad = c.not_valid_after.replace(tzinfo=utc)
    nb, na = nbd.timestamp(), nad.timestamp()
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    bad = 0
    if not now - 300 - 900 <= nb <= now - 300 + 5:
        bad |= problem("NotBefore %s is not about now-5m" %
                       nbd.isoformat())
    if abs((na - nb) - (int(secs) + 300)) > 60:
        bad |= problem("NotAfter %s: %ds after NotBefore, want %ds" % (
            nad.isoformat(), na - nb, int(secs) + 300))
    return bad


def describe(pub):
    if isinstance(pub, rsa.RSAPublicKey):
        alg = "RSA-%d" % pub.key_size
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        alg = "EC-" + pub.curve.name
    else:
        alg = "other"
    spki = pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return "%s %s" % (alg, hashlib.sha256(spki).hexdigest()[:32])


def cmd_pub(what, path):
    """'ALG SPKI-HASH' of the cert, or 'ALG SPKI-HASH PEM-TYPE' of the key."""
    with open(path, "rb") as f:
        data = f.read()
    if what == "cert":
        print(describe(x509.load_pem_x509_certificate(data).public_key()))
        return 0
    for kind in (b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PRIVATE KEY"):
        b = b"-----BEGIN " + kind + b"-----"
        if b in data:
            blk = data[data.index(b):]
            e = b"-----END " + kind + b"-----"
            blk = blk[:blk.index(e) + len(e)] + b"\n"
            key = serialization.load_pem_private_key(blk, password=None)
            print("%s %s" % (describe(key.public_key()),
                             kind.decode().replace(" ", "_")))
            return 0
    return problem("no private key in " + path)


def cmd_kcfg(conf, outdir):
    """Write the embedded client cert, key and CA of a kubeconfig."""
    import yaml
    with open(conf) as f:
        doc = yaml.safe_load(f)
    user = doc["users"][0]["user"]
    cl = doc["clusters"][0]["cluster"]
    for field, name in (("client-certificate-data", "cert.pem"),
                        ("client-key-data", "key.pem"),
                        ("certificate-authority-data", "ca.pem")):
        src = cl if field.startswith("certificate-") else user
        if field not in src:
            return problem("%s: no %s" % (conf, field))
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(base64.b64decode(src[field]))
    return 0


def cmd_listing(root):
    """path type mode link-target sha256 for every entry below root,
    /var/lib/krescue (krescue's own state) left out."""
    out = []
    for dp, dns, fns in os.walk(root):
        rel = os.path.relpath(dp, root)
        if rel == os.path.join("var", "lib", "krescue"):
            dns[:] = []
            continue
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            r = os.path.relpath(p, root)
            if r == os.path.join("var", "lib", "krescue"):
                continue
            t, extra = "f", ""
            if os.path.islink(p):
                t, extra = "l", os.readlink(p)
            elif os.path.isdir(p):
                t = "d"
            else:
                with open(p, "rb") as f:
                    extra = hashlib.sha256(f.read()).hexdigest()
            out.append("%s %s %o %s" % (r, t, st.st_mode & 0o7777, extra))
    print("\n".join(sorted(out)))
    return 0


if __name__ == "__main__":
    fn = {"fields": cmd_fields, "validity": cmd_validity, "pub": cmd_pub,
          "kcfg": cmd_kcfg, "listing": cmd_listing}[sys.argv[1]]
    sys.exit(fn(*sys.argv[2:]))
PY

# changed OLD NEW: the relative paths that differ between two trees (type,
# mode, content, link target), krescue's own /var/lib/krescue left out.
changed() {
	$CT listing "$1" >"$TMP/.l1"
	$CT listing "$2" >"$TMP/.l2"
	comm -3 "$TMP/.l1" "$TMP/.l2" | awk '{ print $1 }' | sort -u
}

# host path of node path $2 in root $1, following one absolute symlink
# at the last component (the kubelet's kubelet-client-current.pem)
in_root() {
	if [ -L "$1$2" ]; then
		ir_t=$(readlink "$1$2")
		case $ir_t in
		/*) printf '%s%s\n' "$1" "$ir_t" ;;
		*) printf '%s/%s\n' "$(dirname "$1$2")" "$ir_t" ;;
		esac
	else
		printf '%s%s\n' "$1" "$2"
	fi
}

mode_of() { stat -c %a "$1" 2>/dev/null; }
# openssl's view; the SAN list sorted (kubeadm sorts the DNS names when it
# renews, and the DER check above holds the exact order)
dump() {
	openssl x509 -in "$1" $FIELDS 2>&1 | awk '
		san { sub(/^ +/, ""); n = split($0, a, ", "); for (i = 2; i <= n; i++) {
			v = a[i]; j = i - 1
			while (j >= 1 && a[j] > v) { a[j + 1] = a[j]; j-- }
			a[j + 1] = v }
			s = a[1]; for (i = 2; i <= n; i++) s = s ", " a[i]
			print s; san = 0; next }
		/Subject Alternative Name/ { san = 1 }
		# a subject key id names the key, and the key is new
		ski { print "    (id of the key)"; ski = 0; next }
		/Subject Key Identifier/ { ski = 1 }
		{ print }'
}
pubhash() { $CT pub "$1" "$2" 2>/dev/null | cut -d ' ' -f 1,2; }
keytype() { $CT pub key "$1" 2>/dev/null | cut -d ' ' -f 3; }
mask() {
	sed -E 's/^( *(client-certificate-data|client-key-data|certificate-authority-data):).*/\1 MASKED/' "$1"
}

# extract ROOT NODE-PATH KIND DIR: cert.pem and key.pem of one item in DIR
# KIND: file (cert, key beside as .key or -key.pem), kcfg, pem
extract() {
	mkdir -p "$4"
	rm -f "$4/cert.pem" "$4/key.pem"
	case $3 in
	file | host)
		cp "$1$2" "$4/cert.pem"
		case $2 in
		*.crt) cp "$1${2%.crt}.key" "$4/key.pem" ;;
		*.pem) cp "$1${2%.pem}-key.pem" "$4/key.pem" ;;
		esac
		;;
	kcfg) $CT kcfg "$1$2" "$4" >/dev/null ;;
	pem)
		p=$(in_root "$1" "$2")
		openssl x509 -in "$p" -out "$4/cert.pem" 2>/dev/null
		cp "$p" "$4/key.pem"
		;;
	esac
}

# check_items TAG OLDROOT NEWROOT SECS ITEMS: one PASS/FAIL per property,
# over every item; ITEMS lines are "name kind node-path node-ca-path".
check_items() {
	ci_tag=$1 ci_old=$2 ci_new=$3 ci_secs=$4 ci_items=$5
	b_fields= b_dump= b_verify= b_match= b_alg= b_newkey= b_fmt= b_valid= b_mode=
	w=$TMP/w/$ci_tag
	while read -r name kind path ca; do
		extract "$ci_old" "$path" "$kind" "$w/$name/old"
		extract "$ci_new" "$path" "$kind" "$w/$name/new"
		o=$w/$name/old n=$w/$name/new
		cafile=$ci_new$ca
		if ! $CT fields "$o/cert.pem" "$n/cert.pem" "$cafile" >"$w/$name/f" 2>&1; then
			b_fields="$b_fields $name($(head -n 1 "$w/$name/f" | cut -c 1-160))"
		fi
		if [ "$(dump "$o/cert.pem")" != "$(dump "$n/cert.pem")" ] ||
		    ! dump "$n/cert.pem" | grep -q '^subject='; then
			b_dump="$b_dump $name"
		fi
		if ! openssl verify -CAfile "$cafile" "$n/cert.pem" >/dev/null 2>&1; then
			b_verify="$b_verify $name"
		fi
		pc=$(pubhash cert "$n/cert.pem")
		pk=$(pubhash key "$n/key.pem")
		[ -n "$pc" ] && [ "$pc" = "$pk" ] || b_match="$b_match $name"
		[ "${pc%% *}" = "$(pubhash cert "$o/cert.pem" | cut -d ' ' -f 1)" ] ||
		    b_alg="$b_alg $name(${pc%% *})"
		[ "$pk" != "$(pubhash key "$o/key.pem")" ] || b_newkey="$b_newkey $name"
		# kubeadm's PEM types (PKCS#1 / SEC1) stay; Kubespray's are
		# whatever openssl wrote, not checked
		if [ "$kind" != host ] &&
		    [ "$(keytype "$n/key.pem")" != "$(keytype "$o/key.pem")" ]; then
			b_fmt="$b_fmt $name($(keytype "$o/key.pem")->$(keytype "$n/key.pem"))"
		fi
		$CT validity "$n/cert.pem" "$ci_secs" >"$w/$name/v" 2>&1 ||
		    b_valid="$b_valid $name($(head -n 1 "$w/$name/v" | cut -c 10-120))"
		case $kind in
		file) want="644 600"
		    got="$(mode_of "$ci_new$path") $(mode_of "$ci_new${path%.crt}.key")" ;;
		host) want="$(mode_of "$ci_old$path") $(mode_of "$ci_old${path%.pem}-key.pem")"
		    got="$(mode_of "$ci_new$path") $(mode_of "$ci_new${path%.pem}-key.pem")" ;;
		kcfg) want=600 got=$(mode_of "$ci_new$path") ;;
		pem) want=600 got=$(mode_of "$(in_root "$ci_new" "$path")") ;;
		esac
		[ "$want" = "$got" ] || b_mode="$b_mode $name($got, want $want)"
	done <"$ci_items"
	n_items=$(wc -l <"$ci_items")
	for prop in fields dump verify match alg newkey fmt valid mode; do
		eval "bad=\$b_$prop"
		case $prop in
		fields) what="subject/issuer bytes, extensions and criticality kept, AKI = CA SKI, no SKI" ;;
		dump) what="openssl -subject -issuer -ext ... output identical" ;;
		verify) what="openssl verify -CAfile against its CA now" ;;
		match) what="key matches cert" ;;
		alg) what="key algorithm and size kept" ;;
		newkey) what="new key generated" ;;
		fmt) what="key PEM type kept" ;;
		valid) what="NotBefore now-5m, NotAfter now+validity" ;;
		mode) what="file modes" ;;
		esac
		if [ -z "$bad" ]; then
			pass "$ci_tag-$prop ($n_items certs)"
		else
			fail "$ci_tag-$prop" "$what:$bad"
		fi
	done
}

# check_kcfgs TAG OLDROOT NEWROOT CAPATH CONF...: bytes outside the three
# data fields unchanged; certificate-authority-data is ca.crt.
check_kcfgs() {
	ck_tag=$1 ck_old=$2 ck_new=$3 ck_ca=$4
	shift 4
	ck_bad=
	for c in "$@"; do
		mask "$ck_old$c" >"$TMP/.m1"
		mask "$ck_new$c" >"$TMP/.m2"
		if ! cmp -s "$TMP/.m1" "$TMP/.m2"; then
			ck_bad="$ck_bad $c(bytes outside the data fields differ)"
			continue
		fi
		[ "$(grep -c 'MASKED$' "$TMP/.m2")" -ge 3 ] ||
		    ck_bad="$ck_bad $c(data fields not found)"
		mkdir -p "$TMP/.kc"
		$CT kcfg "$ck_new$c" "$TMP/.kc" >/dev/null 2>&1 &&
		    cmp -s "$TMP/.kc/ca.pem" "$ck_new$ck_ca" ||
		    ck_bad="$ck_bad $c(certificate-authority-data is not ca.crt)"
	done
	if [ -z "$ck_bad" ]; then
		pass "$ck_tag-kubeconfig-bytes"
	else
		fail "$ck_tag-kubeconfig-bytes" "$ck_bad"
	fi
}

# expect_changed TAG OLD NEW FILE: the set of changed paths is FILE's
expect_changed() {
	changed "$2" "$3" >"$TMP/.got"
	{
		cat "$4"
		# krescue's state dir may bring /var/lib with it
		[ -d "$2/var" ] || echo var
		[ -d "$2/var/lib" ] || echo var/lib
	} | sort -u >"$TMP/.want"
	if diff "$TMP/.want" "$TMP/.got" >"$TMP/.d"; then
		pass "$1"
	else
		fail "$1" "changed paths differ from the plan: $(grep '^[<>]' "$TMP/.d" | tr '\n' ' ' | cut -c 1-300)"
	fi
}

# match_fixture TAG ROOT VERSION: openssl's view of every renewed kubeadm
# cert equals that of real kubeadm's `certs renew all` (fixtures renewed/)
match_fixture() {
	mf_fx=$FIXTURES/kubeadm-v$3/renewed
	mf_bad=
	for c in apiserver apiserver-kubelet-client front-proxy-client \
	    apiserver-etcd-client etcd/server etcd/peer etcd/healthcheck-client; do
		[ "$(dump "$mf_fx/pki/$c.crt")" = "$(dump "$2$PKI/$c.crt")" ] ||
		    mf_bad="$mf_bad $c"
	done
	for c in admin controller-manager scheduler; do
		mkdir -p "$TMP/fx-$1-$c" "$TMP/new-$1-$c"
		$CT kcfg "$mf_fx/$c.conf" "$TMP/fx-$1-$c" >/dev/null 2>&1 &&
		    $CT kcfg "$2/etc/kubernetes/$c.conf" "$TMP/new-$1-$c" >/dev/null 2>&1 &&
		    [ "$(dump "$TMP/fx-$1-$c/cert.pem")" = "$(dump "$TMP/new-$1-$c/cert.pem")" ] ||
		    mf_bad="$mf_bad $c.conf"
	done
	if [ -z "$mf_bad" ]; then
		pass "$1-matches-kubeadm-renewed"
	else
		fail "$1-matches-kubeadm-renewed" "openssl fields differ from kubeadm-v$3/renewed/:$mf_bad"
		openssl x509 -in "$mf_fx/pki/apiserver.crt" $FIELDS 2>&1 >"$TMP/.fx"
		openssl x509 -in "$2$PKI/apiserver.crt" $FIELDS 2>&1 >"$TMP/.nw"
		diff "$TMP/.fx" "$TMP/.nw" | sed 's/^/# apiserver: /' | head -n 10
	fi
}

# ===================== kubeadm 1.28.4, kubelet-finalize ====================
K28=$TMP/k28
K28O=$TMP/k28.orig
mktree kubeadm "$K28O" --version 1.28.4 --expired --kubelet-finalize
cp -a "$K28O" "$K28"
cp -a "$K28O" "$TMP/k28-template"

# --dry-run: the plan, nothing written
h0=$(tree_hash "$K28")
run "$KRESCUE" renew --root "$K28" --dry-run
if [ "$RC" -ne 0 ]; then
	fail dry-run "exit $RC, want 0 ($(why_err))"
elif [ "$(tree_hash "$K28")" != "$h0" ]; then
	fail dry-run "the tree changed: $(changed "$K28O" "$K28" | tr '\n' ' ')$(ls "$K28/var/lib" | tr '\n' ' ')"
else
	missing=
	for n in apiserver apiserver-kubelet-client front-proxy-client \
	    etcd-server etcd-peer etcd-healthcheck-client apiserver-etcd-client \
	    admin.conf controller-manager.conf scheduler.conf kubelet-client \
	    root-kubeconfig; do
		cat "$OUT" "$ERR" | grep -q "^  $n " || missing="$missing $n"
	done
	if [ -n "$missing" ]; then
		fail dry-run "plan does not list:$missing"
	else
		pass dry-run
	fi
fi

T0=$(date +%s)
expect_exit 0 k28-renew "$KRESCUE" renew --root "$K28"
expect_exit 0 k28-check-after "$KRESCUE" check --root "$K28"

cat >"$TMP/k28.items" <<ITEMS
apiserver file $PKI/apiserver.crt $PKI/ca.crt
apiserver-kubelet-client file $PKI/apiserver-kubelet-client.crt $PKI/ca.crt
front-proxy-client file $PKI/front-proxy-client.crt $PKI/front-proxy-ca.crt
etcd-server file $PKI/etcd/server.crt $PKI/etcd/ca.crt
etcd-peer file $PKI/etcd/peer.crt $PKI/etcd/ca.crt
etcd-healthcheck-client file $PKI/etcd/healthcheck-client.crt $PKI/etcd/ca.crt
apiserver-etcd-client file $PKI/apiserver-etcd-client.crt $PKI/etcd/ca.crt
admin.conf kcfg /etc/kubernetes/admin.conf $PKI/ca.crt
controller-manager.conf kcfg /etc/kubernetes/controller-manager.conf $PKI/ca.crt
scheduler.conf kcfg /etc/kubernetes/scheduler.conf $PKI/ca.crt
kubelet-client pem $KPEM $PKI/ca.crt
root-kubeconfig kcfg /root/.kube/config $PKI/ca.crt
ITEMS
check_items k28 "$K28O" "$K28" "$YEAR" "$TMP/k28.items"
check_kcfgs k28 "$K28O" "$K28" "$PKI/ca.crt" /etc/kubernetes/admin.conf \
    /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf \
    /root/.kube/config

# against real kubeadm's `certs renew all` output
match_fixture k28 "$K28" 1.28.4

# what changed is exactly the plan: 7 cert+key pairs, 3 kubeconfigs,
# /root/.kube/config, the kubelet's link and its new file
{
	for c in apiserver apiserver-kubelet-client front-proxy-client \
	    apiserver-etcd-client etcd/server etcd/peer etcd/healthcheck-client; do
		echo "etc/kubernetes/pki/$c.crt"
		echo "etc/kubernetes/pki/$c.key"
	done
	for c in admin controller-manager scheduler; do
		echo "etc/kubernetes/$c.conf"
	done
	echo root/.kube/config
	echo var/lib/kubelet/pki/kubelet-client-current.pem
	t=$(readlink "$K28$KPEM")
	echo "${t#/}"
} >"$TMP/k28.changed"
expect_changed k28-only-planned-files-changed "$K28O" "$K28" "$TMP/k28.changed"

# the kubelet: a new kubelet-client-<time>.pem, the link re-pointed
old_t=$(readlink "$K28O$KPEM")
new_t=$(readlink "$K28$KPEM")
case $new_t in
/var/lib/kubelet/pki/kubelet-client-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-[0-9][0-9]-[0-9][0-9]-[0-9][0-9].pem)
	if [ "$new_t" = "$old_t" ]; then
		fail kubelet-link "still points at $old_t"
	elif [ ! -L "$K28$KPEM" ] || [ ! -f "$K28$new_t" ]; then
		fail kubelet-link "$new_t is not a file in the root"
	elif ! cmp -s "$K28O/etc/kubernetes/kubelet.conf" "$K28/etc/kubernetes/kubelet.conf"; then
		fail kubelet-link "kubelet.conf changed, though it only names the link"
	elif [ "$(grep -c 'BEGIN CERTIFICATE' "$K28$new_t")" -ne 1 ] ||
	    [ "$(grep -c 'BEGIN EC PRIVATE KEY' "$K28$new_t")" -ne 1 ]; then
		fail kubelet-link "$new_t: want one cert and one EC PRIVATE KEY"
	elif [ "$(pubhash key "$K28$new_t" | cut -d ' ' -f 1)" != EC-secp256r1 ]; then
		fail kubelet-link "key is $(pubhash key "$K28$new_t"), want P-256"
	else
		pass kubelet-link
	fi
	;;
*) fail kubelet-link "link target \"$new_t\", want absolute /var/lib/kubelet/pki/kubelet-client-<time>.pem" ;;
esac

# /root/.kube/config carries admin.conf's new identity
if [ "$(grep 'client-certificate-data' "$K28/root/.kube/config")" = \
    "$(grep 'client-certificate-data' "$K28/etc/kubernetes/admin.conf")" ] &&
    [ "$(grep 'client-key-data' "$K28/root/.kube/config")" = \
    "$(grep 'client-key-data' "$K28/etc/kubernetes/admin.conf")" ]; then
	pass root-kubeconfig-is-admin
else
	fail root-kubeconfig-is-admin "/root/.kube/config's client cert/key differ from admin.conf's"
fi

# the backup: 0700 dir, 0600 files, a manifest whose hashes are the old
# files, each backup copy holding exactly those bytes
bdirs=$(ls "$K28/var/lib/krescue/backup" 2>/dev/null)
B=$K28/var/lib/krescue/backup/$bdirs
if [ "$(echo "$bdirs" | wc -w)" -ne 1 ]; then
	fail backup "want one backup dir, got: $bdirs"
elif [ "$(mode_of "$B")" != 700 ] ||
    [ "$(mode_of "$K28/var/lib/krescue/backup")" != 700 ]; then
	fail backup "modes $(mode_of "$K28/var/lib/krescue/backup") $(mode_of "$B"), want 700"
elif [ ! -f "$B/manifest" ]; then
	fail backup "no manifest in $B"
elif [ -n "$(find "$B" -type f ! -perm 0600)" ]; then
	fail backup "files not 0600: $(find "$B" -type f ! -perm 0600 | tr '\n' ' ')"
else
	bad=
	nfiles=0
	while read -r kind mode uid gid sum idx path; do
		[ "$kind" = file ] || continue
		nfiles=$((nfiles + 1))
		[ "$(sha256sum <"$K28O$path" | cut -d ' ' -f 1)" = "$sum" ] ||
		    bad="$bad $path(manifest hash)"
		[ "$(sha256sum <"$B/$idx" | cut -d ' ' -f 1)" = "$sum" ] ||
		    bad="$bad $path(backup copy)"
		[ "$(mode_of "$K28O$path")" = "${mode#0}" ] ||
		    bad="$bad $path(mode $mode)"
	done <"$B/manifest"
	if [ -n "$bad" ]; then
		fail backup "$bad"
	elif [ "$nfiles" -lt 18 ]; then
		fail backup "manifest lists $nfiles files, want at least 18"
	else
		pass "backup ($nfiles files)"
	fi
fi

# a second run with --expiring-within: nothing to do, nothing written
h1=$(tree_hash "$K28")
expect_exit 2 second-renew-nothing-to-do "$KRESCUE" renew --root "$K28" \
    --expiring-within 30d &&
    if [ "$(tree_hash "$K28")" = "$h1" ]; then
	    pass second-renew-unchanged
    else
	    fail second-renew-unchanged "the tree changed"
    fi
T1=$(date +%s)
echo "# k28 renew and checks: $((T1 - T0))s"

# ===================== kubeadm 1.20.2 (kubelet.conf embedded) ===============
K20=$TMP/k20
K20O=$TMP/k20.orig
mktree kubeadm "$K20O" --version 1.20.2 --expired
cp -a "$K20O" "$K20"
expect_exit 0 k20-renew "$KRESCUE" renew --root "$K20"
expect_exit 0 k20-check-after "$KRESCUE" check --root "$K20"
grep -v '^kubelet-client ' "$TMP/k28.items" >"$TMP/k20.items"
echo "kubelet.conf kcfg /etc/kubernetes/kubelet.conf $PKI/ca.crt" >>"$TMP/k20.items"
check_items k20 "$K20O" "$K20" "$YEAR" "$TMP/k20.items"
check_kcfgs k20 "$K20O" "$K20" "$PKI/ca.crt" /etc/kubernetes/admin.conf \
    /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf \
    /etc/kubernetes/kubelet.conf /root/.kube/config
match_fixture k20 "$K20" 1.20.2
grep -v '^var/lib/kubelet' "$TMP/k28.changed" >"$TMP/k20.changed"
echo etc/kubernetes/kubelet.conf >>"$TMP/k20.changed"
expect_changed k20-only-planned-files-changed "$K20O" "$K20" "$TMP/k20.changed"

# ===================== Kubespray (ssl/, pki -> ssl, host etcd) ==============
KS=$TMP/ks
KSO=$TMP/ks.orig
mktree kubespray "$KSO" --expired
cp -a "$KSO" "$KS"
cp -a "$KSO" "$TMP/ks-template"
expect_exit 0 ks-renew "$KRESCUE" renew --root "$KS"
expect_exit 0 ks-check-after "$KRESCUE" check --root "$KS"
SSL=/etc/kubernetes/ssl
ETC=/etc/ssl/etcd/ssl
cat >"$TMP/ks.items" <<ITEMS
apiserver file $SSL/apiserver.crt $SSL/ca.crt
apiserver-kubelet-client file $SSL/apiserver-kubelet-client.crt $SSL/ca.crt
front-proxy-client file $SSL/front-proxy-client.crt $SSL/front-proxy-ca.crt
admin.conf kcfg /etc/kubernetes/admin.conf $SSL/ca.crt
controller-manager.conf kcfg /etc/kubernetes/controller-manager.conf $SSL/ca.crt
scheduler.conf kcfg /etc/kubernetes/scheduler.conf $SSL/ca.crt
kubelet-client pem $KPEM $SSL/ca.crt
root-kubeconfig kcfg /root/.kube/config $SSL/ca.crt
etcd-member-node1 host $ETC/member-node1.pem $ETC/ca.pem
etcd-admin-node1 host $ETC/admin-node1.pem $ETC/ca.pem
etcd-node-node1 host $ETC/node-node1.pem $ETC/ca.pem
ITEMS
check_items ks "$KSO" "$KS" "$YEAR" "$TMP/ks.items"
check_kcfgs ks "$KSO" "$KS" "$SSL/ca.crt" /etc/kubernetes/admin.conf \
    /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf \
    /root/.kube/config
{
	for c in apiserver apiserver-kubelet-client front-proxy-client; do
		echo "etc/kubernetes/ssl/$c.crt"
		echo "etc/kubernetes/ssl/$c.key"
	done
	for c in admin controller-manager scheduler; do
		echo "etc/kubernetes/$c.conf"
	done
	echo root/.kube/config
	echo var/lib/kubelet/pki/kubelet-client-current.pem
	t=$(readlink "$KS$KPEM")
	echo "${t#/}"
	for c in member admin node; do
		echo "etc/ssl/etcd/ssl/$c-node1.pem"
		echo "etc/ssl/etcd/ssl/$c-node1-key.pem"
	done
} >"$TMP/ks.changed"
expect_changed ks-only-planned-files-changed "$KSO" "$KS" "$TMP/ks.changed"
if [ -L "$KS/etc/kubernetes/pki" ] &&
    [ "$(readlink "$KS/etc/kubernetes/pki")" = /etc/kubernetes/ssl ]; then
	pass ks-pki-link-kept
else
	fail ks-pki-link-kept "/etc/kubernetes/pki is no longer the link to /etc/kubernetes/ssl"
fi

# a fresh Kubespray tree, as of a day after it was made: the kubeadm
# leaves are renewed (like `kubeadm certs renew all`); the kubelet and the
# host etcd certs, far from expiry, are not
KF=$TMP/ks-fresh
mktree kubespray "$KF"
cp -a "$KF" "$KF.orig"
run "$KRESCUE" renew --root "$KF" --now 2026-11-25T12:00:00Z
if [ "$RC" -ne 0 ]; then
	fail ks-fresh-default-set "exit $RC, want 0 ($(why_err))"
else
	left=$(changed "$KF.orig" "$KF" | grep -e '^etc/ssl/' -e '^var/lib/kubelet/' | tr '\n' ' ')
	done_=$(changed "$KF.orig" "$KF" | grep -c -e '\.crt$' -e '\.conf$')
	if [ -n "$left" ]; then
		fail ks-fresh-default-set "renewed what does not expire within 30d: $left"
	elif [ "$done_" -ne 6 ]; then
		fail ks-fresh-default-set "renewed $done_ kubeadm certs/kubeconfigs, want 6"
	else
		pass ks-fresh-default-set
	fi
fi

# ===================== options =============================================
# --only apiserver: that cert and key, nothing else
O=$TMP/only
cp -a "$TMP/k28-template" "$O"
expect_exit 0 only-apiserver "$KRESCUE" renew --root "$O" --only apiserver
printf '%s\n' etc/kubernetes/pki/apiserver.crt etc/kubernetes/pki/apiserver.key >"$TMP/only.changed"
expect_changed only-apiserver-changed "$TMP/k28-template" "$O" "$TMP/only.changed"

# --only with the kubelet and an etcd host cert by name (not expiring)
O2=$TMP/only-ks
cp -a "$KF.orig" "$O2"
run "$KRESCUE" renew --root "$O2" --only kubelet-client,etcd-member-node1
got=$(changed "$KF.orig" "$O2" | grep -v '^var/lib/kubelet/pki/kubelet-client-2' | tr '\n' ' ')
want="etc/ssl/etcd/ssl/member-node1-key.pem etc/ssl/etcd/ssl/member-node1.pem var/lib/kubelet/pki/kubelet-client-current.pem "
if [ "$RC" -eq 0 ] && [ "$got" = "$want" ]; then
	pass only-named-kubelet-etcd
else
	fail only-named-kubelet-etcd "exit $RC; changed: $got"
fi

# --reuse-keys: every key file byte for byte, certs new
R=$TMP/reuse
cp -a "$TMP/k28-template" "$R"
expect_exit 0 reuse-keys "$KRESCUE" renew --root "$R" --reuse-keys
bad=
for k in $(cd "$R" && find etc/kubernetes/pki -name '*.key'); do
	cmp -s "$TMP/k28-template/$k" "$R/$k" || bad="$bad $k"
done
for c in admin controller-manager scheduler; do
	[ "$(grep client-key-data "$TMP/k28-template/etc/kubernetes/$c.conf")" = \
	    "$(grep client-key-data "$R/etc/kubernetes/$c.conf")" ] || bad="$bad $c.conf"
done
[ "$(pubhash key "$(in_root "$TMP/k28-template" "$KPEM")")" = \
    "$(pubhash key "$(in_root "$R" "$KPEM")")" ] || bad="$bad kubelet-client"
nc=$(changed "$TMP/k28-template" "$R" | grep -c '\.crt$')
if [ -n "$bad" ]; then
	fail reuse-keys-kept "keys changed:$bad"
elif [ "$nc" -ne 7 ]; then
	fail reuse-keys-kept "$nc .crt files changed, want 7"
else
	pass reuse-keys-kept
fi
expect_exit 0 reuse-keys-check-after "$KRESCUE" check --root "$R"

# --validity 48h
V=$TMP/validity
cp -a "$TMP/k28-template" "$V"
expect_exit 0 validity-48h "$KRESCUE" renew --root "$V" --validity 48h
bad=
for c in "$V$PKI/apiserver.crt" "$V$PKI/etcd/peer.crt" "$(in_root "$V" "$KPEM")"; do
	$CT validity "$c" 172800 >"$TMP/.v" 2>&1 || bad="$bad ${c#"$V"}: $(head -n 1 "$TMP/.v")"
done
mkdir -p "$TMP/.va"
$CT kcfg "$V/etc/kubernetes/admin.conf" "$TMP/.va" >/dev/null 2>&1
$CT validity "$TMP/.va/cert.pem" 172800 >"$TMP/.v" 2>&1 || bad="$bad admin.conf: $(head -n 1 "$TMP/.v")"
if [ -z "$bad" ]; then
	pass validity-48h-notafter
else
	fail validity-48h-notafter "$bad"
fi

# usage errors
expect_exit 100 usage-bad-option "$KRESCUE" renew --root "$V" --no-such-option
expect_exit 100 usage-bad-validity "$KRESCUE" renew --root "$V" --validity soon

# ===================== must-fail: refused, nothing changed ================
# refuse NAME WORD-IN-MESSAGE WANT-EXIT ROOT [renew options]: renew exits
# WANT-EXIT, says WORD on stderr, and the tree stays byte for byte
refuse() {
	rf_name=$1 rf_word=$2 rf_want=$3 rf_root=$4
	shift 4
	rf_h=$(tree_hash "$rf_root")
	touch "$TMP/.stamp"
	run "$KRESCUE" renew --root "$rf_root" "$@"
	rf_after=$(tree_hash "$rf_root")
	case "|$rf_want|" in
	*"|$RC|"*) ;;
	*)
		fail "$rf_name" "exit $RC, want $rf_want ($(grep -v ': signing$' "$ERR" | head -n 1 | cut -c 1-200))"
		return
		;;
	esac
	if [ "$rf_after" != "$rf_h" ]; then
		fail "$rf_name" "exit $RC but the tree changed: $(cd "$rf_root" && find . -newer "$TMP/.stamp" | sort | tr '\n' ' ' | cut -c 1-200)"
	elif ! grep -qi -e "$rf_word" "$ERR"; then
		fail "$rf_name" "no \"$rf_word\" in the message: $(why_err)"
	else
		pass "$rf_name"
	fi
}

fresh() { rm -rf "$1" && cp -a "$TMP/k28-template" "$1"; }

X=$TMP/x
fresh "$X"
rm "$X$PKI/ca.key"
refuse refuse-external-ca 'ca.key' 1 "$X"

fresh "$X"
$PYTHON - "$X$PKI/front-proxy-ca" "$TESTS_LIB_DIR/lib" <<'PY' 2>/dev/null
import datetime, sys
sys.path.insert(0, sys.argv[2])
import mktree
U = datetime.timezone.utc
p = sys.argv[1]
c = mktree.load_cert(p + ".crt")
k = mktree.load_key(p + ".key")
n = mktree.resign(c, c, k, datetime.datetime(2014, 1, 1, tzinfo=U),
                  datetime.datetime(2024, 1, 1, tzinfo=U))
mktree.write(p + ".crt", mktree.cert_pem(n), 0o644)
PY
refuse refuse-expired-ca 'renew-ca' 1 "$X"

fresh "$X"
cp "$X$PKI/front-proxy-client.key" "$X$PKI/apiserver.key"
refuse refuse-key-mismatch 'apiserver' 1 "$X"

# a relative link climbing out of the root, to a real file out there
fresh "$X"
mkdir -p "$TMP/outside"
cp "$X$PKI/apiserver.crt" "$TMP/outside/apiserver.crt"
rm "$X$PKI/apiserver.crt"
ln -s ../../../../outside/apiserver.crt "$X$PKI/apiserver.crt"
oh=$(sha256sum <"$TMP/outside/apiserver.crt")
refuse refuse-symlink-leaves-root 'root' 1 "$X"
[ "$(sha256sum <"$TMP/outside/apiserver.crt")" = "$oh" ] ||
    fail refuse-symlink-outside-untouched "the file outside the root changed"

# the same with an absolute link whose ".." tries to climb out
fresh "$X"
rm "$X$PKI/apiserver.key"
ln -s "/../../../../$TMP/outside/apiserver.key" "$X$PKI/apiserver.key"
refuse refuse-symlink-absolute-dotdot 'apiserver' 1 "$X"

# another krescue holds the lock
fresh "$X"
mkdir -p "$X/var/lib/krescue"
: >"$X/var/lib/krescue/lock"
rm -f "$TMP/.locked"
flock "$X/var/lib/krescue/lock" sh -c ": >'$TMP/.locked'; sleep 30" &
LOCKPID=$!
i=0
while [ ! -f "$TMP/.locked" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -f "$TMP/.locked" ]; then
	refuse refuse-lock-held 'lock\|another krescue' 1 "$X"
else
	fail refuse-lock-held "could not take the lock with flock within 10s"
fi
kill "$LOCKPID" 2>/dev/null
pkill -P "$LOCKPID" 2>/dev/null
wait "$LOCKPID" 2>/dev/null
LOCKPID=

# read-only root (a read-only bind mount of the tree)
fresh "$X"
RO=$TMP/ro
mkdir -p "$RO"
if mount --bind "$X" "$RO" 2>/dev/null; then
	MOUNTS="$RO $MOUNTS"
	if mount -o remount,ro,bind "$RO" 2>/dev/null; then
		hx=$(tree_hash "$X")
		refuse refuse-read-only-root 'read-only\|read only' '1|111' "$RO"
		[ "$(tree_hash "$X")" = "$hx" ] || fail refuse-read-only-source "the tree changed"
	else
		skip refuse-read-only-root "cannot remount read-only"
	fi
	umount "$RO"
else
	skip refuse-read-only-root "cannot bind-mount (need root and CAP_SYS_ADMIN)"
fi

# not enough free space: a tiny tmpfs holding the tree, the rest filled
SP=$TMP/space
mkdir -p "$SP"
if mount -t tmpfs -o size=400k,mode=0755 tmpfs "$SP" 2>/dev/null; then
	MOUNTS="$SP $MOUNTS"
	if cp -a "$TMP/k28-template/." "$SP/" 2>/dev/null; then
		dd if=/dev/zero of="$SP/filler" bs=4k count=1000 2>/dev/null
		truncate -s -8K "$SP/filler"
		sync
		refuse refuse-disk-full 'space\|full\|ENOSPC' '1|111' "$SP"
	else
		skip refuse-disk-full "the tree does not fit into a 400k tmpfs"
	fi
	umount "$SP"
else
	skip refuse-disk-full "cannot mount a tmpfs (need root and CAP_SYS_ADMIN)"
fi

finish
