#!/usr/bin/python3
"""mktree.py: build Kubernetes node root directories for krescue's tests.

Usage (run with Debian's python3; needs python3-cryptography, python3-yaml):
  mktree.py kubeadm DIR --version 1.28.4|1.20.2 [--expired] [--kubelet-finalize]
  mktree.py kubespray DIR [--expired]
  mktree.py foreign-ca CERT          re-sign CERT with a brand-new CA that has
                                     the same subject as CERT's real issuer
  mktree.py embedded KUBECONFIG      print the PEM client cert a kubeconfig
                                     embeds (client-certificate-data)

The fixture trees are real kubeadm output (FIXTURES, default
../shared/fixtures beside the repository).  --expired re-signs every leaf and
every embedded kubeconfig client cert with the same subject bytes, the same
extension bytes (and criticality), the same key and issuer, but a validity
in the past, so the result does not depend on today's date.  The CAs stay
as they are.
"""

import argparse
import base64
import datetime
import os
import sys

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

UTC = datetime.timezone.utc
EXPIRED_NB = datetime.datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
EXPIRED_NA = datetime.datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)
KUBELET_PEM = "/var/lib/kubelet/pki/kubelet-client-current.pem"
KUBECONFIGS = ("admin.conf", "kubelet.conf", "controller-manager.conf",
               "scheduler.conf")


def die(msg):
    sys.stderr.write("mktree: %s\n" % msg)
    sys.exit(1)


def fixtures_dir():
    d = os.environ.get("FIXTURES")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "..", "shared", "fixtures")
    if not os.path.isdir(d):
        die("fixtures not found: %s (set FIXTURES)" % d)
    return d


# --- a minimal DER reader, enough to pull raw fields out of a TBSCertificate

def der_item(buf, off):
    """Return (tag, content_start, content_end) of the DER item at off."""
    tag = buf[off]
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        cnt = n & 0x7f
        if cnt == 0 or cnt > 4:
            raise ValueError("bad DER length")
        n = int.from_bytes(buf[off:off + cnt], "big")
        off += cnt
    if off + n > len(buf):
        raise ValueError("DER item overruns buffer")
    return tag, off, off + n


def der_children(buf, start, end):
    out = []
    off = start
    while off < end:
        tag, cs, ce = der_item(buf, off)
        out.append((tag, off, cs, ce))
        off = ce
    return out


def tbs_raw(cert):
    """Raw DER of issuer, subject and each extension (critical, value)."""
    tbs = cert.tbs_certificate_bytes
    _, cs, ce = der_item(tbs, 0)
    kids = der_children(tbs, cs, ce)
    i = 0
    if kids[0][0] == 0xa0:          # [0] version
        i = 1
    # serial, signature, issuer, validity, subject, spki
    issuer = tbs[kids[i + 2][1]:kids[i + 2][3]]
    subject = tbs[kids[i + 4][1]:kids[i + 4][3]]
    exts = []
    for tag, _, kcs, kce in kids[i + 6:]:
        if tag != 0xa3:             # [3] extensions
            continue
        _, scs, sce = der_item(tbs, kcs)
        for _, _, ecs, ece in der_children(tbs, scs, sce):
            parts = der_children(tbs, ecs, ece)
            crit = False
            if len(parts) == 3:
                crit = tbs[parts[1][2]:parts[1][3]] != b"\x00"
            vtag, _, vcs, vce = parts[-1]
            if vtag != 0x04:
                raise ValueError("extension value is not an OCTET STRING")
            oid = tbs[parts[0][1]:parts[0][3]]
            exts.append((oid, crit, tbs[vcs:vce]))
    return {"issuer": issuer, "subject": subject, "exts": exts}


# --- certificates

def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key, pkcs8=False):
    fmt = (serialization.PrivateFormat.PKCS8 if pkcs8
           else serialization.PrivateFormat.TraditionalOpenSSL)
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             serialization.NoEncryption())


def random_serial():
    # kubeadm: random in [1, 2^63-1)
    return int.from_bytes(os.urandom(8), "big") % ((1 << 63) - 2) + 1


def resign(cert, ca_cert, ca_key, nb, na, ca_name=None, replace=None):
    """Re-sign cert: same subject bytes, key and extension bytes.

    ca_name overrides the issuer name (default: ca_cert's subject);
    replace maps an extension OID to a new ExtensionType value.
    """
    raw = tbs_raw(cert)
    replace = replace or {}
    b = x509.CertificateBuilder()
    b = b.subject_name(cert.subject)
    b = b.issuer_name(ca_name if ca_name is not None else ca_cert.subject)
    b = b.public_key(cert.public_key())
    b = b.serial_number(random_serial())
    b = b.not_valid_before(nb).not_valid_after(na)
    parsed = list(cert.extensions)
    if len(parsed) != len(raw["exts"]):
        die("extension count mismatch while re-signing")
    for ext, (_, crit, val) in zip(parsed, raw["exts"]):
        if ext.oid in replace:
            b = b.add_extension(replace[ext.oid], crit)
        else:
            b = b.add_extension(x509.UnrecognizedExtension(ext.oid, val),
                                crit)
    new = b.sign(ca_key, hashes.SHA256())
    got = tbs_raw(new)
    if got["subject"] != raw["subject"]:
        die("re-signed subject differs from the original bytes")
    if ca_name is None and replace == {} and got["exts"] != raw["exts"]:
        die("re-signed extensions differ from the original bytes")
    if ca_name is None and got["issuer"] != tbs_raw(ca_cert)["subject"]:
        die("re-signed issuer differs from the CA subject bytes")
    return new


def issue(cn, orgs, pub, ca_cert, ca_key, nb, na, exts):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    name = x509.Name(attrs)
    b = x509.CertificateBuilder().subject_name(name)
    b = b.issuer_name(ca_cert.subject if ca_cert is not None else name)
    b = b.public_key(pub).serial_number(random_serial())
    b = b.not_valid_before(nb).not_valid_after(na)
    for val, crit in exts:
        b = b.add_extension(val, crit)
    return b.sign(ca_key, hashes.SHA256())


def aki_from(ca_cert):
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
        ski.value)


# --- files

def mkdir(path, mode):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)


def write(path, data, mode):
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def file_mode(name):
    if name.endswith(".crt"):
        return 0o644
    return 0o600            # *.key, sa.pub, *.conf


def copy_pki(src, dst, skip=()):
    """Copy src/pki to dst (without the *.txt dumps), kubeadm's modes."""
    mkdir(dst, 0o755)
    for name in sorted(os.listdir(src)):
        s = os.path.join(src, name)
        if os.path.isdir(s):
            if name in skip:
                continue
            copy_pki(s, os.path.join(dst, name), skip)
        elif not name.endswith(".txt") and name not in skip:
            write(os.path.join(dst, name), read(s), file_mode(name))


def ca_set(pki):
    """(cert, key) of every CA found in a kubeadm pki dir."""
    cas = []
    for base in ("ca", "front-proxy-ca", "etcd/ca"):
        c = os.path.join(pki, base + ".crt")
        if os.path.exists(c):
            cas.append((load_cert(c), load_key(os.path.join(pki,
                                                            base + ".key"))))
    return cas


def issuer_of(cert, cas):
    for ca_cert, ca_key in cas:
        if ca_cert.subject == cert.issuer:
            return ca_cert, ca_key
    die("no CA found for %s" % cert.subject.rfc4514_string())


def expire_pki(pki, cas):
    """Re-sign every leaf *.crt below pki into the past."""
    for dirpath, _, files in os.walk(pki):
        for name in sorted(files):
            if not name.endswith(".crt"):
                continue
            path = os.path.join(dirpath, name)
            cert = load_cert(path)
            if cert.subject == cert.issuer:
                continue                    # a CA: keep it valid
            ca_cert, ca_key = issuer_of(cert, cas)
            new = resign(cert, ca_cert, ca_key, EXPIRED_NB, EXPIRED_NA)
            write(path, cert_pem(new), 0o644)


def kubeconfig_user(text):
    doc = yaml.safe_load(text)
    users = doc.get("users") or []
    if len(users) != 1:
        die("expected one user in kubeconfig")
    return users[0]["user"]


def expire_kubeconfig(path, cas):
    text = read(path).decode()
    user = kubeconfig_user(text)
    old_b64 = user.get("client-certificate-data")
    if not old_b64:
        return
    cert = x509.load_pem_x509_certificate(base64.b64decode(old_b64))
    ca_cert, ca_key = issuer_of(cert, cas)
    new = resign(cert, ca_cert, ca_key, EXPIRED_NB, EXPIRED_NA)
    new_b64 = base64.b64encode(cert_pem(new)).decode()
    if text.count(old_b64) != 1:
        die("%s: client-certificate-data not found exactly once" % path)
    write(path, text.replace(old_b64, new_b64), 0o600)


def kubelet_finalize(root, node, ca_cert, ca_key, expired, nb, na):
    """The kubelet's rotated client cert, and kubelet.conf pointing at it."""
    if expired:
        nb, na = EXPIRED_NB, EXPIRED_NA
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue("system:node:" + node, ["system:nodes"], key.public_key(),
                 ca_cert, ca_key, nb, na, [
                     (x509.KeyUsage(True, False, False, False, False, False,
                                    False, False, False), True),
                     (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                      False),
                     (x509.BasicConstraints(ca=False, path_length=None),
                      True),
                     (aki_from(ca_cert), False),
                 ])
    pkidir = os.path.join(root, "var/lib/kubelet/pki")
    mkdir(os.path.join(root, "var"), 0o755)
    mkdir(os.path.join(root, "var/lib"), 0o755)
    mkdir(os.path.join(root, "var/lib/kubelet"), 0o700)
    mkdir(pkidir, 0o755)
    ts = nb.strftime("%Y-%m-%d-%H-%M-%S")
    fname = "kubelet-client-%s.pem" % ts
    write(os.path.join(pkidir, fname), cert_pem(cert) + key_pem(key), 0o600)
    link = os.path.join(pkidir, "kubelet-client-current.pem")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink("/var/lib/kubelet/pki/" + fname, link)

    conf = os.path.join(root, "etc/kubernetes/kubelet.conf")
    out = []
    for line in read(conf).decode().splitlines(True):
        s = line.lstrip(" ")
        ind = line[:len(line) - len(s)]
        if s.startswith("client-certificate-data:"):
            line = "%sclient-certificate: %s\n" % (ind, KUBELET_PEM)
        elif s.startswith("client-key-data:"):
            line = "%sclient-key: %s\n" % (ind, KUBELET_PEM)
        out.append(line)
    write(conf, "".join(out), 0o600)
    user = kubeconfig_user("".join(out))
    if user.get("client-certificate") != KUBELET_PEM:
        die("kubelet.conf rewrite failed")


def root_kubeconfig(root):
    mkdir(os.path.join(root, "root"), 0o700)
    mkdir(os.path.join(root, "root/.kube"), 0o750)
    write(os.path.join(root, "root/.kube/config"),
          read(os.path.join(root, "etc/kubernetes/admin.conf")), 0o600)


def base_dirs(root):
    mkdir(root, 0o755)
    mkdir(os.path.join(root, "etc"), 0o755)
    mkdir(os.path.join(root, "etc/kubernetes"), 0o755)


# --- layouts

def cmd_kubeadm(a):
    src = os.path.join(fixtures_dir(), "kubeadm-v" + a.version)
    if not os.path.isdir(src):
        die("no fixture for version %s" % a.version)
    root = a.dir
    base_dirs(root)
    ek = os.path.join(root, "etc/kubernetes")
    pki = os.path.join(ek, "pki")
    copy_pki(os.path.join(src, "pki"), pki)
    for name in KUBECONFIGS:
        write(os.path.join(ek, name), read(os.path.join(src, name)), 0o600)
    mkdir(os.path.join(ek, "manifests"), 0o700)
    for name in sorted(os.listdir(os.path.join(src, "manifests"))):
        write(os.path.join(ek, "manifests", name),
              read(os.path.join(src, "manifests", name)), 0o600)
    write(os.path.join(ek, "kubeadm-config.yaml"),
          read(os.path.join(src, "kubeadm-config.yaml")), 0o644)

    cas = ca_set(pki)
    if a.expired:
        expire_pki(pki, cas)
        for name in KUBECONFIGS:
            expire_kubeconfig(os.path.join(ek, name), cas)
    if a.kubelet_finalize:
        ca_cert, ca_key = cas[0]
        nb = ca_cert.not_valid_before.replace(tzinfo=UTC)
        kubelet_finalize(root, "cp-1", ca_cert, ca_key, a.expired, nb,
                         nb + datetime.timedelta(days=365))
    root_kubeconfig(root)


KS_NODE = "node1"
KS_IP = "10.0.0.11"
KS_ETCD = "/etc/ssl/etcd/ssl"

KS_CONFIG = """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ip}
  bindPort: 6443
nodeRegistration:
  name: {node}
  criSocket: unix:///var/run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
clusterName: cluster.local
etcd:
  external:
    endpoints:
    - https://{ip}:2379
    caFile: {etcd}/ca.pem
    certFile: {etcd}/node-{node}.pem
    keyFile: {etcd}/node-{node}-key.pem
networking:
  dnsDomain: cluster.local
  serviceSubnet: 10.233.0.0/18
  podSubnet: 10.233.64.0/18
kubernetesVersion: v1.28.4
controlPlaneEndpoint: {ip}:6443
certificatesDir: /etc/kubernetes/ssl
apiServer:
  certSANs:
  - kubernetes
  - kubernetes.default
  - kubernetes.default.svc
  - kubernetes.default.svc.cluster.local
  - 10.233.0.1
  - localhost
  - 127.0.0.1
  - {node}
  - lb-apiserver.kubernetes.local
  - {ip}
"""


def ks_apiserver_san():
    import ipaddress
    names = ["node1", "kubernetes", "kubernetes.default",
             "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
             "lb-apiserver.kubernetes.local", "localhost"]
    ips = ["10.233.0.1", KS_IP, "127.0.0.1"]
    return x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in names] +
        [x509.IPAddress(ipaddress.ip_address(i)) for i in ips])


def ks_etcd(root, expired, base_nb):
    import ipaddress
    d = os.path.join(root, KS_ETCD.lstrip("/"))
    mkdir(os.path.join(root, "etc/ssl"), 0o755)
    mkdir(os.path.join(root, "etc/ssl/etcd"), 0o700)
    mkdir(d, 0o700)
    ca_nb = base_nb
    ca_na = base_nb + datetime.timedelta(days=36500)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = issue("etcd-ca", [], ca_key.public_key(), None, ca_key, ca_nb, ca_na,
               [(ski, False),
                (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    ski), False),
                (x509.BasicConstraints(ca=True, path_length=None), True)])
    write(os.path.join(d, "ca.pem"), cert_pem(ca), 0o640)
    write(os.path.join(d, "ca-key.pem"), key_pem(ca_key, pkcs8=True), 0o640)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.DNSName(KS_NODE)] +
        [x509.IPAddress(ipaddress.ip_address(i))
         for i in ("127.0.0.1", "::1", KS_IP)])
    nb, na = (EXPIRED_NB, EXPIRED_NA) if expired else (ca_nb, ca_na)
    for kind in ("member", "admin", "node"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = issue("etcd-%s-%s" % (kind, KS_NODE), [], key.public_key(),
                     ca, ca_key, nb, na, [
                         (x509.ExtendedKeyUsage([
                             ExtendedKeyUsageOID.CLIENT_AUTH,
                             ExtendedKeyUsageOID.SERVER_AUTH]), False),
                         (x509.BasicConstraints(ca=False, path_length=None),
                          False),
                         (x509.SubjectKeyIdentifier.from_public_key(
                             key.public_key()), False),
                         (aki_from(ca), False),
                         (san, False)])
        base = "%s-%s" % (kind, KS_NODE)
        write(os.path.join(d, base + ".pem"), cert_pem(cert), 0o640)
        write(os.path.join(d, base + "-key.pem"), key_pem(key, pkcs8=True),
              0o640)


def ks_text(text):
    """Re-point kubeadm fixture text at the Kubespray node."""
    for old, new in (
            ("--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
             "--etcd-cafile=%s/ca.pem" % KS_ETCD),
            ("--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
             "--etcd-certfile=%s/node-%s.pem" % (KS_ETCD, KS_NODE)),
            ("--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
             "--etcd-keyfile=%s/node-%s-key.pem" % (KS_ETCD, KS_NODE)),
            ("https://127.0.0.1:2379", "https://%s:2379" % KS_IP),
            ("/etc/kubernetes/pki", "/etc/kubernetes/ssl"),
            ("cp.example.test:6443", KS_IP + ":6443"),
            ("192.0.2.10", KS_IP),
            ("system:node:cp-1", "system:node:" + KS_NODE)):
        text = text.replace(old, new)
    return text


def cmd_kubespray(a):
    src = os.path.join(fixtures_dir(), "kubeadm-v1.28.4")
    root = a.dir
    base_dirs(root)
    ek = os.path.join(root, "etc/kubernetes")
    ssl = os.path.join(ek, "ssl")
    # external etcd: no pki/etcd, no apiserver-etcd-client
    copy_pki(os.path.join(src, "pki"), ssl,
             skip=("etcd", "apiserver-etcd-client.crt",
                   "apiserver-etcd-client.key"))
    link = os.path.join(ek, "pki")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink("/etc/kubernetes/ssl", link)
    cas = ca_set(ssl)
    ca_cert, ca_key = cas[0]
    base_nb = ca_cert.not_valid_before.replace(tzinfo=UTC)

    # the apiserver cert carries this node's names
    api = load_cert(os.path.join(ssl, "apiserver.crt"))
    nb, na = api.not_valid_before.replace(tzinfo=UTC), \
        api.not_valid_after.replace(tzinfo=UTC)
    api = resign(api, ca_cert, ca_key, nb, na,
                 replace={ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
                          ks_apiserver_san()})
    write(os.path.join(ssl, "apiserver.crt"), cert_pem(api), 0o644)

    for name in KUBECONFIGS:
        write(os.path.join(ek, name),
              ks_text(read(os.path.join(src, name)).decode()), 0o600)
    mkdir(os.path.join(ek, "manifests"), 0o700)
    for name in sorted(os.listdir(os.path.join(src, "manifests"))):
        if name == "etcd.yaml":
            continue
        write(os.path.join(ek, "manifests", name),
              ks_text(read(os.path.join(src, "manifests", name)).decode()),
              0o600)
    write(os.path.join(ek, "kubeadm-config.yaml"),
          KS_CONFIG.format(ip=KS_IP, node=KS_NODE, etcd=KS_ETCD), 0o640)

    if a.expired:
        expire_pki(ssl, cas)
        for name in KUBECONFIGS:
            expire_kubeconfig(os.path.join(ek, name), cas)
    kubelet_finalize(root, KS_NODE, ca_cert, ca_key, a.expired, base_nb,
                     base_nb + datetime.timedelta(days=365))
    ks_etcd(root, a.expired, base_nb)
    root_kubeconfig(root)


def cmd_foreign_ca(a):
    cert = load_cert(a.cert)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nb = cert.not_valid_before.replace(tzinfo=UTC)
    na = nb + datetime.timedelta(days=3650)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    b = x509.CertificateBuilder().subject_name(cert.issuer)
    b = b.issuer_name(cert.issuer).public_key(key.public_key())
    b = b.serial_number(random_serial()).not_valid_before(nb)
    b = b.not_valid_after(na)
    b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    b = b.add_extension(ski, False)
    foreign = b.sign(key, hashes.SHA256())
    replace = {}
    try:
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        replace[ExtensionOID.AUTHORITY_KEY_IDENTIFIER] = aki_from(foreign)
    except x509.ExtensionNotFound:
        pass
    new = resign(cert, foreign, key, cert.not_valid_before.replace(tzinfo=UTC),
                 cert.not_valid_after.replace(tzinfo=UTC), replace=replace)
    st = os.stat(a.cert)
    write(a.cert, cert_pem(new), st.st_mode & 0o7777)


def cmd_embedded(a):
    user = kubeconfig_user(read(a.kubeconfig).decode())
    data = user.get("client-certificate-data")
    if not data:
        die("%s: no client-certificate-data" % a.kubeconfig)
    sys.stdout.write(base64.b64decode(data).decode())


def main():
    p = argparse.ArgumentParser(prog="mktree.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kubeadm")
    k.add_argument("dir")
    k.add_argument("--version", required=True, choices=("1.28.4", "1.20.2"))
    k.add_argument("--expired", action="store_true")
    k.add_argument("--kubelet-finalize", action="store_true")
    s = sub.add_parser("kubespray")
    s.add_argument("dir")
    s.add_argument("--expired", action="store_true")
    f = sub.add_parser("foreign-ca")
    f.add_argument("cert")
    e = sub.add_parser("embedded")
    e.add_argument("kubeconfig")
    a = p.parse_args()
    {"kubeadm": cmd_kubeadm, "kubespray": cmd_kubespray,
     "foreign-ca": cmd_foreign_ca, "embedded": cmd_embedded}[a.cmd](a)


if __name__ == "__main__":
    main()
