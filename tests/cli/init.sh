#!/bin/sh
# tests/cli/init.sh: `krescue init` against real kubeadm output.  The trees
# krescue writes from the v1.28.4 (v1beta3) and v1.20.2 (v1beta2) fixture
# configs are compared with the fixture trees field by field (only keys,
# serials and exact times may differ); every tree is also held against the
# rules of ../shared/docs/kubeadm-pki.md §1-§6 (subjects, SANs and their
# order, usages, extension order, key type and PEM type, validity and
# backdating per version, modes, kubeconfig names and servers).  Then
# v1beta4 with ECDSA-P256 and a 48h validity (1.31), 1.33's local kubelet
# server, flags only, external etcd, kept CAs and sa.key, idempotence,
# --force, --dry-run, check, openssl verify, HA (--from-node) and the
# must-fail inputs, each of which must leave the tree as it was.
. "$(dirname "$0")/../lib.sh"
require_krescue
if ! command -v openssl >/dev/null 2>&1; then
	sh scripts/install-pkgs.sh openssl >/dev/null 2>&1
fi
if ! command -v openssl >/dev/null 2>&1; then
	fail openssl "openssl is not installed (sh scripts/install-pkgs.sh openssl)"
	exit 1
fi

PK="$PYTHON $TMP/pk.py"
cat >"$TMP/pk.py" <<'PY'
import warnings; warnings.simplefilter("ignore")
import base64, datetime, ipaddress, os, sys
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID as EK
from cryptography.x509.name import _ASN1Type
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa, padding

UTC = datetime.timezone.utc
PKI_CERTS = ["ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca",
             "front-proxy-client", "apiserver-etcd-client", "etcd/ca",
             "etcd/server", "etcd/peer", "etcd/healthcheck-client"]
ETCD = ("apiserver-etcd-client", "etcd/ca", "etcd/server", "etcd/peer",
        "etcd/healthcheck-client")
CAS = {"ca": "kubernetes", "front-proxy-ca": "front-proxy-ca",
       "etcd/ca": "etcd-ca"}
ISSUER = {"apiserver": "ca", "apiserver-kubelet-client": "ca",
          "front-proxy-client": "front-proxy-ca",
          "apiserver-etcd-client": "etcd/ca", "etcd/server": "etcd/ca",
          "etcd/peer": "etcd/ca", "etcd/healthcheck-client": "etcd/ca"}
CONFS = ["admin", "super-admin", "kubelet", "controller-manager", "scheduler"]
RESULTS = []


def report(name, probs):
    if probs:
        RESULTS.append("bad %s %s" % (name, "; ".join(probs)[:600]))
    else:
        RESULTS.append("ok %s" % name)


def load_cert(p):
    with open(p, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def pem_type(data):
    for t in (b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PRIVATE KEY",
              b"PUBLIC KEY"):
        if data.lstrip().startswith(b"-----BEGIN " + t + b"-----"):
            return t.decode()
    return "?"


def keydesc(pub):
    if isinstance(pub, rsa.RSAPublicKey):
        return "RSA-%d" % pub.key_size
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ECDSA-P256",
                "secp384r1": "ECDSA-P384"}.get(pub.curve.name, pub.curve.name)
    return "other"


def spki(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def ext_list(c):
    return [(e.oid.dotted_string, e.critical) for e in c.extensions]


def ext(c, cls):
    try:
        return c.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def sans(c):
    e = ext(c, x509.SubjectAlternativeName)
    if e is None:
        return None
    return [("DNS:" + v.value) if isinstance(v, x509.DNSName) else
            ("IP:" + str(v.value)) if isinstance(v, x509.IPAddress) else
            "other:" + str(v) for v in e.value]


def eku(c):
    e = ext(c, x509.ExtendedKeyUsage)
    return None if e is None else [o.dotted_string for o in e.value]


def ku(c):
    e = ext(c, x509.KeyUsage)
    if e is None:
        return None
    v = e.value
    out = []
    for a in ("digital_signature", "content_commitment", "key_encipherment",
              "data_encipherment", "key_agreement", "key_cert_sign",
              "crl_sign"):
        if getattr(v, a):
            out.append(a)
    return out


def nb(c):
    return c.not_valid_before.replace(tzinfo=UTC).timestamp()


def na(c):
    return c.not_valid_after.replace(tzinfo=UTC).timestamp()


def signed_by(c, ca):
    pub = ca.public_key()
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


def mkname(orgs, cn):
    rdns = [x509.RelativeDistinguishedName([x509.NameAttribute(
        NameOID.ORGANIZATION_NAME, o, _ASN1Type.PrintableString)])
        for o in orgs]
    rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(
        NameOID.COMMON_NAME, cn, _ASN1Type.PrintableString)]))
    return x509.Name(rdns).public_bytes()


def read_key(path_or_data):
    data = path_or_data
    if isinstance(data, str):
        with open(data, "rb") as f:
            data = f.read()
    return pem_type(data), serialization.load_pem_private_key(data, None)


def kcfg(path):
    with open(path) as f:
        return yaml.safe_load(f)


def kcfg_client(doc):
    u = doc["users"][0]["user"]
    c = x509.load_pem_x509_certificate(
        base64.b64decode(u["client-certificate-data"]))
    kd = base64.b64decode(u["client-key-data"])
    return c, kd


def mode(p):
    return os.stat(p).st_mode & 0o7777


def files_below(d):
    out = set()
    for dp, _, fns in os.walk(d):
        for n in fns:
            r = os.path.relpath(os.path.join(dp, n), d)
            if not r.endswith(".txt"):
                out.add(r)
    return out


# ------------------------------------------------------------ spec mode
def cmd_spec(argv):
    """spec ETC_K8S key=value...: the tree against kubeadm-pki.md rules."""
    ek = argv[0]
    o = dict(a.split("=", 1) for a in argv[1:])
    minor = int(o["minor"])
    node, adv = o["node"], o["adv"]
    port = o.get("port", "6443")
    cpe = o.get("cpe", "")
    vip = o["vip"]
    domain = o.get("domain", "cluster.local")
    extra = [s for s in o.get("sans", "").split(",") if s]
    cluster = o.get("cluster", "kubernetes")
    keyt = o.get("key", "RSA-2048")
    val = float(o.get("validity", 8760 * 3600))
    caval = float(o.get("cavalidity", 87600 * 3600))
    t0, t1 = float(o["t0"]), float(o["t1"])
    ext_etcd = o.get("external") == "1"
    join = o.get("join") == "1"
    oldca = o.get("oldca") == "1"
    pki = os.path.join(ek, "pki")
    local = "https://%s:%s" % (("[%s]" % adv) if ":" in adv else adv, port)
    if cpe:
        h, _, p = cpe.rpartition(":") if cpe.count(":") == 1 else (cpe, "", "")
        cpe_url = "https://%s:%s" % (h, p or port)
        cpe_host = h
    else:
        cpe_url, cpe_host = local, ""

    names = [n for n in PKI_CERTS if not (ext_etcd and n in ETCD)]
    # file set
    want = set()
    for n in names:
        want |= {n + ".crt", n + ".key"}
    want |= {"sa.key", "sa.pub"}
    got = files_below(pki)
    probs = []
    if got != want:
        probs.append("pki files: missing %s, extra %s" % (
            sorted(want - got), sorted(got - want)))
    confs = ["admin", "controller-manager", "scheduler"]
    if not join:
        confs.append("kubelet")
        if minor >= 29:
            confs.append("super-admin")
    gotc = {n[:-5] for n in os.listdir(ek) if n.endswith(".conf")}
    if gotc != set(confs):
        probs.append("kubeconfigs: %s, want %s" % (sorted(gotc),
                                                  sorted(confs)))
    report("files", probs)
    if got != want:
        names = [n for n in names if n + ".crt" in got and n + ".key" in got]

    certs = {n: load_cert(os.path.join(pki, n + ".crt")) for n in names}
    # expectations
    old_o = minor <= 28
    subj = {"apiserver": ([], "kube-apiserver"),
            "apiserver-kubelet-client": (
                ["system:masters"] if old_o else ["kubeadm:cluster-admins"],
                "kube-apiserver-kubelet-client"),
            "front-proxy-client": ([], "front-proxy-client"),
            "apiserver-etcd-client": (["system:masters"] if old_o else [],
                                      "kube-apiserver-etcd-client"),
            "etcd/server": ([], node), "etcd/peer": ([], node),
            "etcd/healthcheck-client": (["system:masters"] if old_o else [],
                                        "kube-etcd-healthcheck-client")}
    for ca, cn in CAS.items():
        subj[ca] = ([], cn)
    SA, CA_ = EK.SERVER_AUTH.dotted_string, EK.CLIENT_AUTH.dotted_string
    ekus = {"apiserver": [SA], "apiserver-kubelet-client": [CA_],
            "front-proxy-client": [CA_], "apiserver-etcd-client": [CA_],
            "etcd/server": [SA, CA_], "etcd/peer": [SA, CA_],
            "etcd/healthcheck-client": [CA_]}

    def ipn(s):
        return str(ipaddress.ip_address(s))

    def is_ip(s):
        try:
            ipaddress.ip_address(s)
            return True
        except ValueError:
            return False
    dns = [node, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc." + domain]
    ips = [vip, adv]
    if cpe_host:
        (ips if is_ip(cpe_host) else dns).append(cpe_host)
    for s in extra:
        (ips if is_ip(s) else dns).append(s)
    ipo = []
    for i in ips:
        if ipn(i) not in ipo:
            ipo.append(ipn(i))
    api_san = ["DNS:" + d for d in sorted(set(dns))] + ["IP:" + i for i in ipo]
    etcd_san = ["DNS:" + d for d in sorted({node, "localhost"})]
    eips = []
    for i in (adv, "127.0.0.1", "::1"):
        if ipn(i) not in eips:
            eips.append(ipn(i))
    etcd_san += ["IP:" + i for i in eips]
    sanw = {"apiserver": api_san, "etcd/server": etcd_san,
            "etcd/peer": etcd_san}
    for ca, cn in CAS.items():
        sanw[ca] = ["DNS:" + cn]
    sigw = {"RSA-2048": "sha256", "RSA-3072": "sha256", "RSA-4096": "sha256",
            "ECDSA-P256": "sha256", "ECDSA-P384": "sha384"}
    pemw = "EC PRIVATE KEY" if keyt.startswith("ECDSA") else "RSA PRIVATE KEY"

    P = {k: [] for k in ("subject", "issuer", "san", "keyusage", "eku",
                         "basicconstraints", "ski-aki", "ext-order", "keytype",
                         "pemtype", "sigalg", "chain", "validity", "modes",
                         "serial")}
    for n, c in certs.items():
        isca = n in CAS
        so, scn = subj[n]
        if c.subject.public_bytes() != mkname(so, scn):
            P["subject"].append("%s: %s" % (n, c.subject.rfc4514_string()))
        iss = certs.get(n if isca else ISSUER[n])
        if iss is None or c.issuer.public_bytes() != iss.subject.public_bytes():
            P["issuer"].append("%s: %s" % (n, c.issuer.rfc4514_string()))
        if sans(c) != sanw.get(n):
            P["san"].append("%s: %s, want %s" % (n, sans(c), sanw.get(n)))
        kuw = ["digital_signature", "key_encipherment"] + (
            ["key_cert_sign"] if isca else [])
        e = ext(c, x509.KeyUsage)
        if ku(c) != kuw or not e.critical:
            P["keyusage"].append("%s: %s" % (n, ku(c)))
        e = ext(c, x509.ExtendedKeyUsage)
        if eku(c) != ekus.get(n) or (e is not None and e.critical):
            P["eku"].append("%s: %s" % (n, eku(c)))
        e = ext(c, x509.BasicConstraints)
        if (e is None or not e.critical or e.value.ca != isca or
                e.value.path_length is not None):
            P["basicconstraints"].append("%s: %s" % (n, e))
        ski = ext(c, x509.SubjectKeyIdentifier)
        aki = ext(c, x509.AuthorityKeyIdentifier)
        if isca:
            if ski is None or aki is not None:
                P["ski-aki"].append("%s: CA needs SKI and no AKI" % n)
            elif ski.value.digest != x509.SubjectKeyIdentifier.from_public_key(
                    c.public_key()).digest:
                P["ski-aki"].append("%s: SKI is not SHA-1 of the key" % n)
        else:
            if ski is not None or aki is None:
                P["ski-aki"].append("%s: leaf needs AKI and no SKI" % n)
            elif iss is not None and ext(iss, x509.SubjectKeyIdentifier) and \
                    aki.value.key_identifier != ext(
                        iss, x509.SubjectKeyIdentifier).value.digest:
                P["ski-aki"].append("%s: AKI != issuer SKI" % n)
        # Go's template order: KU, EKU, BC, SKI, AKI, SAN
        order = [x for x in ext_list(c)]
        oids = [x[0] for x in order]
        wo = ["2.5.29.15"] + ([] if isca else ["2.5.29.37"]) + ["2.5.29.19"] + \
            (["2.5.29.14"] if isca else ["2.5.29.35"]) + \
            (["2.5.29.17"] if n in sanw else [])
        if oids != wo:
            P["ext-order"].append("%s: %s" % (n, oids))
        if keydesc(c.public_key()) != keyt:
            P["keytype"].append("%s: %s" % (n, keydesc(c.public_key())))
        kt, key = read_key(os.path.join(pki, n + ".key"))
        if kt != pemw:
            P["pemtype"].append("%s: %s" % (n, kt))
        if spki(key.public_key()) != spki(c.public_key()):
            P["pemtype"].append("%s: key does not match cert" % n)
        if iss is not None:
            ikt = keydesc(iss.public_key())
            if c.signature_hash_algorithm.name != sigw.get(ikt):
                P["sigalg"].append("%s: %s" % (n, c.signature_hash_algorithm.name))
            if not signed_by(c, iss):
                P["chain"].append("%s: signature does not verify" % n)
        if not 0 < c.serial_number < 1 << 63:
            P["serial"].append("%s: %d" % (n, c.serial_number))
        if c.version != x509.Version.v3:
            P["serial"].append("%s: not v3" % n)
        # validity
        v = P["validity"]
        if isca:
            if not oldca:
                back = 300 if minor >= 25 else 0
                if not t0 - back - 2 <= nb(c) <= t1 - back + 2:
                    v.append("%s: NotBefore %+ds from the run" % (n, nb(c) - t0))
                if abs(na(c) - nb(c) - back - caval) > 5:
                    v.append("%s: span %ds, want %ds" % (n, na(c) - nb(c),
                                                        back + caval))
        else:
            if minor >= 31:
                if not t0 - 302 <= nb(c) <= t1 - 298:
                    v.append("%s: NotBefore %+ds from the run, want -300" %
                             (n, nb(c) - t0))
            elif iss is not None and nb(c) != nb(iss):
                v.append("%s: NotBefore != its CA's" % n)
            if not t0 + val - 2 <= na(c) <= t1 + val + 2:
                v.append("%s: NotAfter %+ds from the run, want %+d" % (
                    n, na(c) - t0, val))
        if mode(os.path.join(pki, n + ".crt")) != 0o644 or \
                mode(os.path.join(pki, n + ".key")) != 0o600:
            P["modes"].append("%s: %o/%o" % (n, mode(os.path.join(pki, n + ".crt")),
                                             mode(os.path.join(pki, n + ".key"))))
    # service account
    sp = []
    try:
        kt, sk = read_key(os.path.join(pki, "sa.key"))
        with open(os.path.join(pki, "sa.pub"), "rb") as f:
            pd = f.read()
        if kt != pemw:
            sp.append("sa.key is %s" % kt)
        if pem_type(pd) != "PUBLIC KEY":
            sp.append("sa.pub is %s" % pem_type(pd))
        elif spki(serialization.load_pem_public_key(pd)) != spki(sk.public_key()):
            sp.append("sa.pub is not sa.key's public key")
        if keydesc(sk.public_key()) != keyt:
            sp.append("sa.key %s" % keydesc(sk.public_key()))
        for f in ("sa.key", "sa.pub"):
            if mode(os.path.join(pki, f)) != 0o600:
                sp.append("%s mode %o" % (f, mode(os.path.join(pki, f))))
    except Exception as e:
        sp.append("sa: %s" % e)
    report("sa", sp)
    for k, v in P.items():
        report(k, v)

    # kubeconfigs
    K = {k: [] for k in ("kcfg-layout", "kcfg-server", "kcfg-ca-data",
                         "kcfg-client-subject", "kcfg-client-cert",
                         "kcfg-client-validity", "kcfg-mode")}
    adm_o = ["system:masters"] if old_o else ["kubeadm:cluster-admins"]
    spec = {"admin": ("kubernetes-admin", adm_o, cpe_url),
            "super-admin": ("kubernetes-super-admin", ["system:masters"],
                            cpe_url),
            "kubelet": ("system:node:" + node, ["system:nodes"],
                        local if minor >= 33 else cpe_url),
            "controller-manager": ("system:kube-controller-manager", [], local),
            "scheduler": ("system:kube-scheduler", [], local)}
    ca = certs.get("ca")
    with open(os.path.join(pki, "ca.crt"), "rb") as f:
        ca_pem = f.read()
    for n in confs:
        p = os.path.join(ek, n + ".conf")
        if not os.path.exists(p):
            continue
        user, orgs, server = spec[n]
        try:
            d = kcfg(p)
        except Exception as e:
            K["kcfg-layout"].append("%s: %s" % (n, e))
            continue
        ctx = "%s@%s" % (user, cluster)
        lay = {"apiVersion": d.get("apiVersion"), "kind": d.get("kind"),
               "current-context": d.get("current-context"),
               "clusters": [x.get("name") for x in d.get("clusters", [])],
               "contexts": [(x.get("name"), x["context"].get("cluster"),
                             x["context"].get("user"))
                            for x in d.get("contexts", [])],
               "users": [x.get("name") for x in d.get("users", [])],
               "userkeys": sorted(d["users"][0]["user"]),
               "clusterkeys": sorted(d["clusters"][0]["cluster"]),
               "preferences": d.get("preferences")}
        want_l = {"apiVersion": "v1", "kind": "Config", "current-context": ctx,
                  "clusters": [cluster], "contexts": [(ctx, cluster, user)],
                  "users": [user],
                  "userkeys": ["client-certificate-data", "client-key-data"],
                  "clusterkeys": ["certificate-authority-data", "server"],
                  "preferences": {}}
        if lay != want_l:
            K["kcfg-layout"].append("%s: %s" % (n, {k: lay[k] for k in lay
                                                    if lay[k] != want_l[k]}))
            if lay["userkeys"] != want_l["userkeys"]:
                continue
        if d["clusters"][0]["cluster"].get("server") != server:
            K["kcfg-server"].append("%s: %s, want %s" % (
                n, d["clusters"][0]["cluster"].get("server"), server))
        if base64.b64decode(d["clusters"][0]["cluster"].get(
                "certificate-authority-data", "")) != ca_pem:
            K["kcfg-ca-data"].append("%s: CA data != ca.crt" % n)
        c, kd = kcfg_client(d)
        if c.subject.public_bytes() != mkname(orgs, user):
            K["kcfg-client-subject"].append("%s: %s" % (n, c.subject.rfc4514_string()))
        pr = []
        if eku(c) != [EK.CLIENT_AUTH.dotted_string]:
            pr.append("eku %s" % eku(c))
        if ku(c) != ["digital_signature", "key_encipherment"]:
            pr.append("ku %s" % ku(c))
        bc = ext(c, x509.BasicConstraints)
        if bc is None or bc.value.ca or not bc.critical:
            pr.append("bc")
        if ext(c, x509.SubjectKeyIdentifier) or not ext(c, x509.AuthorityKeyIdentifier):
            pr.append("ski/aki")
        if sans(c) is not None:
            pr.append("has SAN")
        if ca is not None and (c.issuer.public_bytes() != ca.subject.public_bytes()
                               or not signed_by(c, ca)):
            pr.append("not signed by ca")
        kt = pem_type(kd)
        key = serialization.load_pem_private_key(kd, None)
        if kt != pemw or keydesc(c.public_key()) != keyt:
            pr.append("key %s %s" % (kt, keydesc(c.public_key())))
        if spki(key.public_key()) != spki(c.public_key()):
            pr.append("key does not match")
        if pr:
            K["kcfg-client-cert"].append("%s: %s" % (n, ",".join(pr)))
        if minor >= 31:
            okv = t0 - 302 <= nb(c) <= t1 - 298
        else:
            okv = ca is not None and nb(c) == nb(ca)
        okv = okv and t0 + val - 2 <= na(c) <= t1 + val + 2
        if not okv:
            K["kcfg-client-validity"].append("%s: %s..%s" % (
                n, c.not_valid_before, c.not_valid_after))
        if mode(p) != 0o600:
            K["kcfg-mode"].append("%s: %o" % (n, mode(p)))
    for k, v in K.items():
        report(k, v)


# ------------------------------------------------------------ ref mode
def view_diff(vn, vf):
    out = []
    for k in vf:
        if vf[k] == vn[k]:
            continue
        if k == "extensions":
            a = [(o, cr) for o, cr, _ in vn[k]]
            b = [(o, cr) for o, cr, _ in vf[k]]
            if a != b:
                out.append("extensions (oid, critical) %s, kubeadm %s" % (a, b))
            else:
                out.append("values of %s differ" % [x[0] for x, y in zip(
                    vn[k], vf[k]) if x != y])
        else:
            out.append("%s %s, kubeadm %s" % (k, vn[k], vf[k]))
    return "; ".join(out)


def cert_view(c):
    """everything but key, serial, times, signature value"""
    exts = []
    for e in c.extensions:
        if e.oid.dotted_string in ("2.5.29.14", "2.5.29.35"):
            exts.append((e.oid.dotted_string, e.critical, "present"))
        else:
            exts.append((e.oid.dotted_string, e.critical,
                         e.value.public_bytes().hex()))
    return {"version": c.version.name,
            "subject": c.subject.public_bytes().hex(),
            "issuer": c.issuer.public_bytes().hex(),
            "extensions": exts, "sigalg": c.signature_algorithm_oid.dotted_string,
            "key": keydesc(c.public_key())}


def cmd_ref(argv):
    """ref FIXTURE_DIR ETC_K8S: krescue's tree against kubeadm's."""
    fx, ek = argv
    pki_f, pki_n = os.path.join(fx, "pki"), os.path.join(ek, "pki")
    ff, fn = files_below(pki_f), files_below(pki_n)
    report("ref-pki-file-set", [] if ff == fn else [
        "missing %s, extra %s" % (sorted(ff - fn), sorted(fn - ff))])
    confs_f = sorted(n for n in os.listdir(fx) if n.endswith(".conf"))
    confs_n = sorted(n for n in os.listdir(ek) if n.endswith(".conf"))
    report("ref-kubeconfig-set", [] if confs_f == confs_n else [
        "%s, want %s" % (confs_n, confs_f)])
    P = {k: [] for k in ("ref-cert-fields", "ref-key-pem", "ref-validity-span",
                         "ref-notbefore-rule", "ref-kubeconfig-structure",
                         "ref-kubeconfig-client")}

    def span_check(tag, cf, cn, caf, can):
        sf, sn = na(cf) - nb(cf), na(cn) - nb(cn)
        # kubeadm took ~2 s between CA and leaf: 10 s tolerance
        if abs(sf - sn) > 10:
            P["ref-validity-span"].append("%s: %ds, kubeadm %ds" % (tag, sn, sf))
        if caf is not None:
            if (nb(cf) == nb(caf)) != (nb(cn) == nb(can)):
                P["ref-notbefore-rule"].append(
                    "%s: NotBefore==CA NotBefore is %s, kubeadm %s" % (
                        tag, nb(cn) == nb(can), nb(cf) == nb(caf)))

    cas_f = {n: load_cert(os.path.join(pki_f, n + ".crt")) for n in CAS}
    cas_n = {}
    for n in CAS:
        try:
            cas_n[n] = load_cert(os.path.join(pki_n, n + ".crt"))
        except Exception:
            pass
    for rel in sorted(ff & fn):
        pf, pn = os.path.join(pki_f, rel), os.path.join(pki_n, rel)
        with open(pf, "rb") as f:
            df = f.read()
        with open(pn, "rb") as f:
            dn = f.read()
        if rel.endswith(".crt"):
            cf, cn = load_cert(pf), load_cert(pn)
            vf, vn = cert_view(cf), cert_view(cn)
            if vf != vn:
                P["ref-cert-fields"].append("%s: %s" % (rel, view_diff(vn, vf)))
            base = rel[:-4]
            can = None if base in CAS else ISSUER.get(base)
            span_check(rel, cf, cn, cas_f.get(can), cas_n.get(can))
        else:
            if pem_type(df) != pem_type(dn):
                P["ref-key-pem"].append("%s: %s, kubeadm %s" % (
                    rel, pem_type(dn), pem_type(df)))
            if rel == "sa.pub":
                a = serialization.load_pem_public_key(df)
                b = serialization.load_pem_public_key(dn)
            else:
                a = serialization.load_pem_private_key(df, None).public_key()
                b = serialization.load_pem_private_key(dn, None).public_key()
            if keydesc(a) != keydesc(b):
                P["ref-key-pem"].append("%s: %s, kubeadm %s" % (
                    rel, keydesc(b), keydesc(a)))
    for n in sorted(set(confs_f) & set(confs_n)):
        a, b = kcfg(os.path.join(fx, n)), kcfg(os.path.join(ek, n))

        def mask(d):
            d = yaml.safe_load(yaml.safe_dump(d))
            for cl in d.get("clusters", []):
                if "certificate-authority-data" in cl["cluster"]:
                    cl["cluster"]["certificate-authority-data"] = "X"
            for u in d.get("users", []):
                for k in ("client-certificate-data", "client-key-data"):
                    if k in u["user"]:
                        u["user"][k] = "X"
            return d
        if mask(a) != mask(b):
            P["ref-kubeconfig-structure"].append("%s: %s != kubeadm %s" % (
                n, mask(b), mask(a)))
            continue
        cf, kf = kcfg_client(a)
        cn, kn = kcfg_client(b)
        vf, vn = cert_view(cf), cert_view(cn)
        if vf != vn:
            P["ref-kubeconfig-client"].append("%s: %s" % (n, view_diff(vn, vf)))
        if pem_type(kf) != pem_type(kn):
            P["ref-kubeconfig-client"].append("%s key %s" % (n, pem_type(kn)))
        span_check(n, cf, cn, cas_f["ca"], cas_n.get("ca"))
    for k, v in P.items():
        report(k, v)


if __name__ == "__main__":
    {"spec": cmd_spec, "ref": cmd_ref}[sys.argv[1]](sys.argv[2:])
    print("\n".join(RESULTS))
PY

F28=$FIXTURES/kubeadm-v1.28.4
F20=$FIXTURES/kubeadm-v1.20.2
K8S=/etc/kubernetes

# results TAG: turn the helper's "ok NAME" / "bad NAME WHY" lines (in $OUT)
# into PASS/FAIL lines; no line at all is a failure too
results() {
	r_n=0
	while read -r r_st r_name r_why; do
		r_n=$((r_n + 1))
		case $r_st in
		ok) pass "$1-$r_name" ;;
		bad) fail "$1-$r_name" "$r_why" ;;
		*) fail "$1-helper" "$r_st $r_name $r_why" ;;
		esac
	done <"$OUT"
	[ "$r_n" -gt 0 ] || fail "$1-helper" "no result: $(why_err)"
}

# newroot DIR [CONFIG]: an empty node root, with the kubeadm config at
# /etc/kubernetes/kubeadm-config.yaml when given
newroot() {
	mkdir -p "$1$K8S"
	[ -z "${2:-}" ] || cp "$2" "$1$K8S/kubeadm-config.yaml"
}

# do_init TAG ROOT ARGS...: krescue init, exit 0 expected; T0/T1 frame it
do_init() {
	di_tag=$1 di_root=$2
	shift 2
	T0=$(date +%s)
	expect_exit 0 "$di_tag-init-exit-0" "$KRESCUE" init --root "$di_root" "$@"
	T1=$(($(date +%s) + 1))
}

# khash ROOT: hash of /etc/kubernetes (krescue's backup dir left out)
khash() { tree_hash "$1$K8S"; }

# verify_all TAG ROOT: openssl verify of every leaf against its CA
verify_all() {
	va_bad=
	va_p=$2$K8S/pki
	for va in apiserver:ca apiserver-kubelet-client:ca \
	    front-proxy-client:front-proxy-ca apiserver-etcd-client:etcd/ca \
	    etcd/server:etcd/ca etcd/peer:etcd/ca etcd/healthcheck-client:etcd/ca; do
		va_l=${va%%:*} va_c=${va#*:}
		[ -f "$va_p/$va_l.crt" ] || continue
		openssl verify -CAfile "$va_p/$va_c.crt" "$va_p/$va_l.crt" >/dev/null 2>&1 ||
		    va_bad="$va_bad $va_l"
	done
	if [ -z "$va_bad" ]; then
		pass "$1-openssl-verify"
	else
		fail "$1-openssl-verify" "does not verify against its CA:$va_bad"
	fi
}

# check_ok TAG ROOT [ARGS]: krescue check exits 0
check_ok() {
	co_tag=$1 co_root=$2
	shift 2
	run "$KRESCUE" check --root "$co_root" "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$co_tag-check-exit-0"
	else
		fail "$co_tag-check-exit-0" "krescue check exit $RC: $(grep -iv '^ *ok' "$OUT" | head -n 3 | tr '\n' ' ' | cut -c 1-200)"
	fi
}

# same_files TAG ROOT-A ROOT-B FILES...: byte-identical
same_files() {
	sf_tag=$1 sf_a=$2 sf_b=$3
	shift 3
	sf_bad=
	for sf in "$@"; do
		cmp -s "$sf_a$K8S/pki/$sf" "$sf_b$K8S/pki/$sf" || sf_bad="$sf_bad $sf"
	done
	if [ -z "$sf_bad" ]; then
		pass "$sf_tag"
	else
		fail "$sf_tag" "differ:$sf_bad"
	fi
}
SHARED="ca.crt ca.key front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key sa.key sa.pub"
LEAVES="apiserver.crt apiserver.key apiserver-kubelet-client.crt front-proxy-client.crt etcd/server.crt etcd/peer.crt etcd/healthcheck-client.crt apiserver-etcd-client.crt"

FX_ARGS="node=cp-1 adv=192.0.2.10 cpe=cp.example.test:6443 vip=10.233.0.1 sans=cp-1.example.test,192.0.2.100 cluster=rescue-test"

# ===== 1.28.4 (v1beta3): the fixture's own config ==========================
R=$TMP/r28
newroot "$R" "$F28/kubeadm-config.yaml"
do_init v128 "$R"
run $PK ref "$F28" "$R$K8S"
results v128
run $PK spec "$R$K8S" minor=28 $FX_ARGS t0="$T0" t1="$T1"
results v128-spec
verify_all v128 "$R"
check_ok v128 "$R"

# no super-admin.conf before 1.29 (also in the file-set checks; named here)
if [ -e "$R$K8S/super-admin.conf" ]; then
	fail v128-no-super-admin "super-admin.conf written for 1.28"
else
	pass v128-no-super-admin
fi

# second run: everything valid, nothing to do, nothing touched
H0=$(khash "$R")
expect_exit 2 v128-second-init-nothing-to-do "$KRESCUE" init --root "$R"
[ "$(khash "$R")" = "$H0" ] && pass v128-second-init-unchanged ||
    fail v128-second-init-unchanged "/etc/kubernetes changed on a nothing-to-do run"

# --force: new leaves (and keys), same CAs and sa keys
cp -a "$R" "$TMP/r28-before-force"
do_init v128-force "$R" --force
same_files v128-force-keeps-cas-and-sa "$TMP/r28-before-force" "$R" $SHARED
ff_same=
for f in $LEAVES; do
	cmp -s "$TMP/r28-before-force$K8S/pki/$f" "$R$K8S/pki/$f" && ff_same="$ff_same $f"
done
for f in admin.conf kubelet.conf controller-manager.conf scheduler.conf; do
	cmp -s "$TMP/r28-before-force$K8S/$f" "$R$K8S/$f" && ff_same="$ff_same $f"
done
[ -z "$ff_same" ] && pass v128-force-replaces-leaves ||
    fail v128-force-replaces-leaves "unchanged after --force:$ff_same"
run $PK spec "$R$K8S" minor=28 $FX_ARGS t0="$T0" t1="$T1" oldca=1
results v128-force-spec
verify_all v128-force "$R"

# --dry-run on an empty root: nothing written
R=$TMP/r28-dry
newroot "$R" "$F28/kubeadm-config.yaml"
H0=$(tree_hash "$R")
expect_exit 0 v128-dry-run-exit-0 "$KRESCUE" init --root "$R" --dry-run
[ "$(tree_hash "$R")" = "$H0" ] && pass v128-dry-run-writes-nothing ||
    fail v128-dry-run-writes-nothing "$(cd "$R" && find . -type f | head -n 5 | tr '\n' ' ')"
grep -q 'apiserver' "$OUT" && pass v128-dry-run-prints-plan ||
    fail v128-dry-run-prints-plan "no plan on stdout"

# ===== 1.20.2 (v1beta2) =====================================================
R=$TMP/r20
newroot "$R" "$F20/kubeadm-config.yaml"
do_init v120 "$R"
run $PK ref "$F20" "$R$K8S"
results v120
verify_all v120 "$R"
check_ok v120 "$R"
# 1.20 did not backdate its CAs
ca_nb=$(date -d "$(openssl x509 -in "$R$K8S/pki/ca.crt" -noout -startdate | cut -d = -f 2)" +%s)
if [ "$ca_nb" -ge $((T0 - 2)) ] && [ "$ca_nb" -le "$T1" ]; then
	pass v120-ca-not-backdated
else
	fail v120-ca-not-backdated "CA NotBefore $((ca_nb - T0))s from the run (kubeadm 1.20: now)"
fi

# ===== v1beta4, 1.31, ECDSA-P256, 48h ======================================
cat >"$TMP/v131.yaml" <<'Y'
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.20
  bindPort: 6443
nodeRegistration:
  name: cp-a
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.31.0
clusterName: ec-test
controlPlaneEndpoint: 192.0.2.200:6443
encryptionAlgorithm: ECDSA-P256
certificateValidityPeriod: 48h0m0s
networking:
  serviceSubnet: 10.96.0.0/12,fd00:10:96::/108
  dnsDomain: corp.local
apiServer:
  certSANs:
  - b.example.test
  - a.example.test
  - 192.0.2.20
  - bad_name!
  - "*.wild.example.test"
  - cp-a
Y
R131=$TMP/r131
newroot "$R131" "$TMP/v131.yaml"
do_init v131 "$R131"
do_init_out=$(cat "$OUT" "$ERR")
run $PK spec "$R131$K8S" minor=31 node=cp-a adv=192.0.2.20 cpe=192.0.2.200:6443 \
    vip=10.96.0.1 domain=corp.local sans='b.example.test,a.example.test,192.0.2.20,*.wild.example.test,cp-a' \
    cluster=ec-test key=ECDSA-P256 validity=172800 t0="$T0" t1="$T1"
results v131
verify_all v131 "$R131"
# 48h certificates: inside check's default 30-day window, so a 1h window
check_ok v131 "$R131" --warn 1h
case $do_init_out in
*'bad_name!'*) pass v131-invalid-certsan-warned ;;
*) fail v131-invalid-certsan-warned "no warning naming the dropped certSAN bad_name!" ;;
esac
# the explicit checks the issue names (also inside the spec checks above)
P131=$R131$K8S/pki
sig=$(openssl x509 -in "$P131/apiserver.crt" -noout -text | sed -n 's/^ *Signature Algorithm: //p' | head -n 1)
[ "$sig" = ecdsa-with-SHA256 ] && pass v131-ecdsa-with-SHA256 || fail v131-ecdsa-with-SHA256 "got $sig"
head -n 1 "$P131/ca.key" | grep -q 'BEGIN EC PRIVATE KEY' && pass v131-ec-private-key-pem ||
    fail v131-ec-private-key-pem "ca.key: $(head -n 1 "$P131/ca.key")"
$MKTREE embedded "$R131$K8S/super-admin.conf" >"$TMP/sa.pem" 2>/dev/null
$MKTREE embedded "$R131$K8S/admin.conf" >"$TMP/ad.pem" 2>/dev/null
s1=$(openssl x509 -in "$TMP/sa.pem" -noout -subject -nameopt RFC2253 2>&1)
s2=$(openssl x509 -in "$TMP/ad.pem" -noout -subject -nameopt RFC2253 2>&1)
[ "$s1" = "subject=CN=kubernetes-super-admin,O=system:masters" ] && pass v131-super-admin-system-masters ||
    fail v131-super-admin-system-masters "$s1"
[ "$s2" = "subject=CN=kubernetes-admin,O=kubeadm:cluster-admins" ] && pass v131-admin-cluster-admins ||
    fail v131-admin-cluster-admins "$s2"
s3=$(openssl x509 -in "$P131/etcd/healthcheck-client.crt" -noout -subject -nameopt RFC2253)
s4=$(openssl x509 -in "$P131/apiserver-etcd-client.crt" -noout -subject -nameopt RFC2253)
[ "$s3 $s4" = "subject=CN=kube-etcd-healthcheck-client subject=CN=kube-apiserver-etcd-client" ] &&
    pass v131-etcd-clients-without-O || fail v131-etcd-clients-without-O "$s3 / $s4"

# ===== v1.33: kubelet.conf at the local endpoint ============================
sed -e 's/v1.31.0/v1.33.1/' -e '/encryptionAlgorithm/d' -e '/certificateValidityPeriod/d' \
    "$TMP/v131.yaml" >"$TMP/v133.yaml"
R=$TMP/r133
newroot "$R" "$TMP/v133.yaml"
do_init v133 "$R"
run $PK spec "$R$K8S" minor=33 node=cp-a adv=192.0.2.20 cpe=192.0.2.200:6443 \
    vip=10.96.0.1 domain=corp.local sans='b.example.test,a.example.test,192.0.2.20,*.wild.example.test,cp-a' \
    cluster=ec-test t0="$T0" t1="$T1"
results v133
srv=$(sed -n 's/^ *server: //p' "$R$K8S/kubelet.conf")
[ "$srv" = https://192.0.2.20:6443 ] && pass v133-kubelet-conf-local-endpoint ||
    fail v133-kubelet-conf-local-endpoint "server $srv, want https://192.0.2.20:6443"

# ===== flags only (no config file) =========================================
R=$TMP/rflags
newroot "$R"
do_init flags "$R" --node-name node-x --advertise-address 10.1.2.3 \
    --bind-port 6444 --control-plane-endpoint api.flags.test:8443 \
    --service-cidr 10.100.0.0/16 --dns-domain k8s.test \
    --cert-sans extra.flags.test,10.1.2.4 --cluster-name flagc \
    --kubernetes-version v1.28.4
run $PK spec "$R$K8S" minor=28 node=node-x adv=10.1.2.3 port=6444 \
    cpe=api.flags.test:8443 vip=10.100.0.1 domain=k8s.test \
    sans=extra.flags.test,10.1.2.4 cluster=flagc t0="$T0" t1="$T1"
results flags
verify_all flags "$R"

# ===== external etcd: no etcd certs ========================================
cat "$F28/kubeadm-config.yaml" >"$TMP/ext.yaml"
cat >>"$TMP/ext.yaml" <<'Y'
etcd:
  external:
    endpoints:
    - https://192.0.2.50:2379
    caFile: /etc/ssl/etcd/ssl/ca.pem
    certFile: /etc/ssl/etcd/ssl/node-cp-1.pem
    keyFile: /etc/ssl/etcd/ssl/node-cp-1-key.pem
Y
R=$TMP/rext
newroot "$R" "$TMP/ext.yaml"
do_init ext-etcd "$R"
run $PK spec "$R$K8S" minor=28 $FX_ARGS external=1 t0="$T0" t1="$T1"
results ext-etcd
if [ -e "$R$K8S/pki/etcd" ] && [ -n "$(ls -A "$R$K8S/pki/etcd")" ]; then
	fail ext-etcd-no-etcd-dir "pki/etcd has: $(ls "$R$K8S/pki/etcd" | tr '\n' ' ')"
else
	pass ext-etcd-no-etcd-dir
fi

# ===== existing CAs and sa.key kept; sa.pub re-derived ======================
R=$TMP/rkeep
newroot "$R" "$F28/kubeadm-config.yaml"
mkdir -p "$R$K8S/pki/etcd"
for f in ca.crt ca.key front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key sa.key; do
	cp "$F28/pki/$f" "$R$K8S/pki/$f"
done
chmod 0644 "$R$K8S"/pki/*.crt "$R$K8S"/pki/etcd/*.crt
chmod 0600 "$R$K8S"/pki/*.key "$R$K8S"/pki/etcd/*.key
do_init keep "$R"
kb=
for f in ca.crt ca.key front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key sa.key; do
	cmp -s "$F28/pki/$f" "$R$K8S/pki/$f" || kb="$kb $f"
done
[ -z "$kb" ] && pass keep-cas-and-sa-key-byte-identical || fail keep-cas-and-sa-key-byte-identical "changed:$kb"
if [ -f "$R$K8S/pki/sa.pub" ] &&
    [ "$(openssl pkey -in "$F28/pki/sa.key" -pubout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum)" = \
      "$(openssl pkey -pubin -in "$R$K8S/pki/sa.pub" -outform DER 2>/dev/null | sha256sum)" ]; then
	pass keep-sa-pub-rederived
else
	fail keep-sa-pub-rederived "sa.pub missing or not sa.key's public key"
fi
run $PK spec "$R$K8S" minor=28 $FX_ARGS oldca=1 t0="$T0" t1="$T1"
results keep
verify_all keep "$R"
# (no fixture comparison here: with a kept CA, the leaves' NotBefore is
# that CA's, years back, as kubeadm does, so the validity spans differ)
check_ok keep "$R"

# ===== HA: a second control plane from the first one's shared files =======
R2=$TMP/r131-cp2
newroot "$R2" "$TMP/v131.yaml"
do_init ha "$R2" --from-node "$R131" --node-name cp-2 --advertise-address 192.0.2.11
same_files ha-shared-files-byte-identical "$R131" "$R2" $SHARED
run $PK spec "$R2$K8S" minor=31 node=cp-2 adv=192.0.2.11 cpe=192.0.2.200:6443 \
    vip=10.96.0.1 domain=corp.local sans='b.example.test,a.example.test,192.0.2.20,*.wild.example.test,cp-a' \
    cluster=ec-test key=ECDSA-P256 validity=172800 join=1 oldca=1 t0="$T0" t1="$T1"
results ha
for f in super-admin.conf kubelet.conf; do
	if [ -e "$R2$K8S/$f" ]; then
		fail "ha-no-$f" "join does not write $f, krescue did"
	else
		pass "ha-no-$f"
	fi
done
hs=$(openssl x509 -in "$R2$K8S/pki/etcd/peer.crt" -noout -ext subjectAltName 2>&1 | tail -n 1)
case $hs in
*DNS:cp-2*"IP Address:192.0.2.11"*) pass ha-etcd-peer-san-cp-2 ;;
*) fail ha-etcd-peer-san-cp-2 "$hs" ;;
esac
verify_all ha "$R2"

# ===== must-fail: exit 1 or 100, one message, nothing written =============
# refuse TAG WHAT-TO-GREP ROOT ARGS...
refuse() {
	rf_tag=$1 rf_grep=$2 rf_root=$3
	shift 3
	rf_h=$(tree_hash "$rf_root")
	(cd "$rf_root" && find . -printf '%y %m %p\n' | sort) >"$TMP/.rf-before"
	run "$KRESCUE" init --root "$rf_root" "$@"
	case $RC in
	1 | 100) pass "$rf_tag-refused" ;;
	*) fail "$rf_tag-refused" "exit $RC, want 1 or 100 ($(why_err))" ;;
	esac
	if [ -s "$ERR" ] && grep -qi -- "$rf_grep" "$ERR"; then
		pass "$rf_tag-says-why"
	else
		fail "$rf_tag-says-why" "stderr does not mention '$rf_grep': $(why_err)"
	fi
	[ "$(tree_hash "$rf_root")" = "$rf_h" ] && pass "$rf_tag-tree-unchanged" ||
	    fail "$rf_tag-tree-unchanged" "changed (+ new, - gone; content changes show no line): $( (cd "$rf_root" && find . -printf '%y %m %p\n' | sort) | diff "$TMP/.rf-before" - | grep '^[<>]' | sed 's/^>/+/; s/^</-/' | head -n 6 | tr '\n' ' ')"
}

# badcfg TAG GREP SED-EXPR: the 1.28 config edited by sed
badcfg() {
	bc_r=$TMP/bad-$1
	newroot "$bc_r"
	sed -e "$3" "$F28/kubeadm-config.yaml" >"$bc_r$K8S/kubeadm-config.yaml"
	refuse "$1" "$2" "$bc_r"
}
badcfg unknown-apiversion v1beta1 's#kubeadm.k8s.io/v1beta3#kubeadm.k8s.io/v1beta1#'
badcfg malformed-yaml 'yaml\|line\|parse\|syntax' 's#^  advertiseAddress: 192.0.2.10#  advertiseAddress: [192.0.2.10#'
badcfg bad-advertise-ip 192.0.2.300 's#192.0.2.10$#192.0.2.300#'
badcfg bad-service-cidr 10.233.0.0/40 's#10.233.0.0/18#10.233.0.0/40#'
badcfg bad-node-name Upper_Case 's#name: cp-1#name: Upper_Case#'
R=$TMP/bad-flag-ip
newroot "$R"
refuse bad-flag-ip 'not-an-ip' "$R" --node-name n1 --advertise-address not-an-ip --kubernetes-version v1.28.4
R=$TMP/bad-flag-name
newroot "$R"
refuse bad-flag-node-name 'Upper_Case' "$R" --node-name Upper_Case --advertise-address 192.0.2.10 --kubernetes-version v1.28.4
# a CA certificate without its key: never sign with it, never replace it
R=$TMP/bad-ca-nokey
newroot "$R" "$F28/kubeadm-config.yaml"
mkdir -p "$R$K8S/pki"
cp "$F28/pki/ca.crt" "$R$K8S/pki/ca.crt"
refuse ca-without-key 'ca.key\|key' "$R"
# the same with --force
refuse ca-without-key-force 'ca.key\|key' "$R" --force

finish
