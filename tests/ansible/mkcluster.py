#!/usr/bin/python3
"""mkcluster.py: a Kubespray cluster of node roots for the fleet test.

Usage: mkcluster.py DIR [--etcd-valid]

Builds, below DIR:
  node1 node2 node3   control planes, host etcd on the same three
                      (Kubespray etcd_deployment_type: host), sharing one
                      Kubernetes CA, front-proxy CA, sa key pair and etcd CA;
                      every leaf, kubeconfig and kubelet client cert expired
  node4 node5         workers: ca.crt, kubelet.conf and an expired kubelet
                      client cert (kubelet-client-current.pem), no CA key
  inventory.yaml      the Kubespray inventory shape (kube_control_plane,
                      etcd, kube_node, k8s_cluster; ansible_host, ip,
                      access_ip) with ansible_connection=local and
                      krescue_root naming each node's directory

node1 is tests/lib/mktree.py's Kubespray tree; node2 and node3 are copies
with their own names and addresses: the apiserver SANs, the etcd
member/admin/node certificates (signed by the shared etcd CA), the kubelet
client cert and the names in the kubeadm config, manifests and kubeconfig
server lines.  --etcd-valid gives the etcd leaves Kubespray's real 100-year
validity instead (the common case: only the kubeadm leaves expire).
"""

import argparse
import datetime
import ipaddress
import os
import shutil
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc
OLD_NB = datetime.datetime(2024, 1, 1, tzinfo=UTC)
OLD_NA = datetime.datetime(2025, 1, 1, tzinfo=UTC)
ETCD = "etc/ssl/etcd/ssl"
SSL = "etc/kubernetes/ssl"
PKI = "var/lib/kubelet/pki"
KUBELET_FILE = "kubelet-client-2024-01-01-00-00-00.pem"
CONTROL = [("node1", "10.0.0.11"), ("node2", "10.0.0.12"),
           ("node3", "10.0.0.13")]
WORKERS = [("node4", "10.0.0.14"), ("node5", "10.0.0.15")]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data, mode):
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def keypem(key, pkcs8=False):
    fmt = (serialization.PrivateFormat.PKCS8 if pkcs8
           else serialization.PrivateFormat.TraditionalOpenSSL)
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             serialization.NoEncryption())


def serial():
    return int.from_bytes(os.urandom(8), "big") % ((1 << 63) - 2) + 1


def aki(ca):
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
        ski.value)


def sign(subject, pub, ca, ca_key, nb, na, exts):
    b = x509.CertificateBuilder().subject_name(subject)
    b = b.issuer_name(ca.subject).public_key(pub).serial_number(serial())
    b = b.not_valid_before(nb).not_valid_after(na)
    for val, crit in exts:
        b = b.add_extension(val, crit)
    return b.sign(ca_key, hashes.SHA256())


def load(root, rel):
    return x509.load_pem_x509_certificate(read(os.path.join(root, rel)))


def loadkey(root, rel):
    return serialization.load_pem_private_key(read(os.path.join(root, rel)),
                                              password=None)


def retext(root, rel, node, ip):
    """node1/10.0.0.11 -> node/ip in a text file, never in *-data lines."""
    path = os.path.join(root, rel)
    out = []
    for line in read(path).decode().splitlines(True):
        if "-data:" not in line:
            line = line.replace("node1", node).replace("10.0.0.11", ip)
        out.append(line)
    write(path, "".join(out), os.stat(path).st_mode & 0o7777)


def apiserver(root, node, ip):
    """Re-sign apiserver.crt (same key, subject, extensions) for node/ip."""
    ca, ca_key = load(root, SSL + "/ca.crt"), loadkey(root, SSL + "/ca.key")
    old = load(root, SSL + "/apiserver.crt")
    names = [node, "kubernetes", "kubernetes.default",
             "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
             "lb-apiserver.kubernetes.local", "localhost"]
    ips = ["10.233.0.1", ip, "127.0.0.1"]
    san = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in names] +
        [x509.IPAddress(ipaddress.ip_address(i)) for i in ips])
    exts = []
    for e in old.extensions:
        if isinstance(e.value, x509.SubjectAlternativeName):
            exts.append((san, e.critical))
        else:
            exts.append((e.value, e.critical))
    new = sign(old.subject, old.public_key(), ca, ca_key,
               old.not_valid_before.replace(tzinfo=UTC),
               old.not_valid_after.replace(tzinfo=UTC), exts)
    write(os.path.join(root, SSL + "/apiserver.crt"), pem(new), 0o644)


def etcd_leaves(root, node, ip, valid):
    """Kubespray's member/admin/node certs for node, from the etcd CA."""
    d = os.path.join(root, ETCD)
    ca = load(root, ETCD + "/ca.pem")
    ca_key = loadkey(root, ETCD + "/ca-key.pem")
    for name in os.listdir(d):
        if name.split("-")[0] in ("member", "admin", "node"):
            os.unlink(os.path.join(d, name))
    if valid:
        nb = ca.not_valid_before.replace(tzinfo=UTC)
        na = ca.not_valid_after.replace(tzinfo=UTC)
    else:
        nb, na = OLD_NB, OLD_NA
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.DNSName(node)] +
        [x509.IPAddress(ipaddress.ip_address(i))
         for i in ("127.0.0.1", "::1", ip)])
    for kind in ("member", "admin", "node"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subj = x509.Name([x509.NameAttribute(
            NameOID.COMMON_NAME, "etcd-%s-%s" % (kind, node))])
        cert = sign(subj, key.public_key(), ca, ca_key, nb, na, [
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                    ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.BasicConstraints(ca=False, path_length=None), False),
            (x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
             False),
            (aki(ca), False),
            (san, False)])
        base = os.path.join(d, "%s-%s" % (kind, node))
        write(base + ".pem", pem(cert), 0o640)
        write(base + "-key.pem", keypem(key, pkcs8=True), 0o640)


def kubelet(root, node, ca, ca_key):
    """An expired kubelet client cert for node, as the kubelet names it."""
    d = os.path.join(root, PKI)
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    key = ec.generate_private_key(ec.SECP256R1())
    subj = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
        x509.NameAttribute(NameOID.COMMON_NAME, "system:node:" + node)])
    cert = sign(subj, key.public_key(), ca, ca_key, OLD_NB, OLD_NA, [
        (x509.KeyUsage(True, False, False, False, False, False, False, False,
                       False), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (aki(ca), False)])
    write(os.path.join(d, KUBELET_FILE), pem(cert) + keypem(key), 0o600)
    os.symlink("/" + PKI + "/" + KUBELET_FILE,
               os.path.join(d, "kubelet-client-current.pem"))


def control_plane(src, root, node, ip, etcd_valid):
    if src != root:
        shutil.copytree(src, root, symlinks=True)
    ek = "etc/kubernetes/"
    for rel in (ek + "kubeadm-config.yaml", ek + "admin.conf",
                ek + "controller-manager.conf", ek + "scheduler.conf",
                ek + "kubelet.conf"):
        retext(root, rel, node, ip)
    for name in os.listdir(os.path.join(root, ek + "manifests")):
        retext(root, ek + "manifests/" + name, node, ip)
    if src != root:
        apiserver(root, node, ip)
        ca = load(root, SSL + "/ca.crt")
        kubelet(root, node, ca, loadkey(root, SSL + "/ca.key"))
    if src != root or etcd_valid:
        etcd_leaves(root, node, ip, etcd_valid)
    write(os.path.join(root, "root/.kube/config"),
          read(os.path.join(root, ek + "admin.conf")), 0o600)


def worker(cp, root, node, ip):
    """A Kubespray worker: ca.crt (no key), kubelet.conf, kubelet cert."""
    for d, mode in (("", 0o755), ("etc", 0o755), ("etc/kubernetes", 0o755),
                    (SSL, 0o755), ("var", 0o755), ("var/lib", 0o755),
                    ("var/lib/kubelet", 0o700), (PKI, 0o755)):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, d), mode)
    write(os.path.join(root, SSL, "ca.crt"), read(os.path.join(
        cp, SSL, "ca.crt")), 0o644)
    os.symlink("/etc/kubernetes/ssl", os.path.join(root, "etc/kubernetes/pki"))
    write(os.path.join(root, "etc/kubernetes/kubelet.conf"),
          read(os.path.join(cp, "etc/kubernetes/kubelet.conf")), 0o600)
    retext(root, "etc/kubernetes/kubelet.conf", node, "127.0.0.1")
    kubelet(root, node, load(cp, SSL + "/ca.crt"),
            loadkey(cp, SSL + "/ca.key"))


INVENTORY_HEAD = """\
# Kubespray's inventory shape (inventory/mycluster/hosts.yaml), every
# "node" a directory on this machine used as krescue's --root.  No Python
# on the nodes: the playbook needs nothing there but a POSIX shell.
all:
  vars:
    ansible_connection: local
  hosts:
"""

INVENTORY_TAIL = """\
  children:
    kube_control_plane:
      hosts:
        node1:
        node2:
        node3:
    etcd:
      hosts:
        node1:
        node2:
        node3:
    kube_node:
      hosts:
        node4:
        node5:
    k8s_cluster:
      children:
        kube_control_plane:
        kube_node:
"""


def inventory(top):
    out = [INVENTORY_HEAD]
    for node, ip in CONTROL + WORKERS:
        out.append("    %s:\n      ansible_host: %s\n      ip: %s\n"
                   "      access_ip: %s\n      krescue_root: %s\n"
                   "      krescue_remote_dir: %s\n"
                   "      ansible_python_interpreter: /nonexistent/python3\n"
                   % (
                       node, ip, ip, ip, os.path.join(top, node),
                       os.path.join(top, "bin", node)))
    out.append(INVENTORY_TAIL)
    write(os.path.join(top, "inventory.yaml"), "".join(out), 0o644)


def main():
    p = argparse.ArgumentParser(prog="mkcluster.py")
    p.add_argument("dir")
    p.add_argument("--etcd-valid", action="store_true")
    a = p.parse_args()
    top = os.path.abspath(a.dir)
    os.makedirs(top, exist_ok=True)
    os.makedirs(os.path.join(top, "bin"), exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    mktree = os.path.join(here, "..", "lib", "mktree.py")
    first = os.path.join(top, "node1")
    subprocess.run([sys.executable, "-W", "ignore", mktree, "kubespray",
                    first, "--expired"], check=True)
    control_plane(first, first, "node1", "10.0.0.11", a.etcd_valid)
    for node, ip in CONTROL[1:]:
        control_plane(first, os.path.join(top, node), node, ip, a.etcd_valid)
    for node, ip in WORKERS:
        worker(first, os.path.join(top, node), node, ip)
    inventory(top)


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")
    main()
