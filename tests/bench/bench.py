#!/usr/bin/env python3
"""krescue benchmarks: size, check and renew, side by side with the tools
operators script today (openssl per file; kubeadm when on PATH), measured in
the same run.  Prints ratios; asserts nothing (goals are read, not enforced).
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KRESCUE = os.environ.get("KRESCUE", os.path.join(TOP, "build", "krescue"))
FIXTURES = os.environ.get("FIXTURES", os.path.join(TOP, "..", "shared", "fixtures"))
FIX = os.path.join(FIXTURES, "kubeadm-v1.28.4")
RUNS = int(os.environ.get("BENCH_RUNS", "20"))


def node_tree(dst):
    """Lay the v1.28.4 fixture out as a node root."""
    kube = os.path.join(dst, "etc", "kubernetes")
    shutil.copytree(os.path.join(FIX, "pki"), os.path.join(kube, "pki"),
                    ignore=shutil.ignore_patterns("*.txt"))
    for f in ("admin.conf", "kubelet.conf", "controller-manager.conf",
              "scheduler.conf", "kubeadm-config.yaml"):
        shutil.copy(os.path.join(FIX, f), kube)
    for d, _, files in os.walk(kube):
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            os.chmod(p, 0o600 if f.endswith((".key", ".conf", ".pub")) else 0o644)


def run_many(argv_fn, runs, setup=None):
    """Wall time per run (best and median) and the peak RSS of the children."""
    times = []
    for i in range(runs):
        if setup:
            setup(i)
        argv = argv_fn(i)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0], times[len(times) // 2]


MAXRSS = os.path.join(TOP, "build", "bench", "maxrss")


def peak_rss_kib(argv):
    """Peak RSS of one command, through a tiny static helper (a python
    parent's own pages would count until the child's exec)."""
    r = subprocess.run([MAXRSS] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    for line in r.stderr.splitlines():
        if line.startswith("maxrss "):
            return int(line.split()[1])
    return 0


OPENSSL_CHECK = r'''
set -e
root=$1
for f in $(find "$root/etc/kubernetes/pki" -name '*.crt' | sort); do
    openssl x509 -enddate -noout -in "$f"
done
for c in "$root"/etc/kubernetes/*.conf; do
    grep client-certificate-data "$c" | awk '{print $2}' | base64 -d |
        openssl x509 -enddate -noout
done
'''

OPENSSL_RENEW = r'''
set -e
root=$1
pki=$root/etc/kubernetes/pki
t=$(mktemp -d)
renew() {  # cert key ca cakey
    openssl genrsa -out "$t/new.key" 2048 2>/dev/null
    openssl x509 -x509toreq -in "$1" -key "$t/new.key" -out "$t/req.csr" -copy_extensions copyall 2>/dev/null
    openssl x509 -req -in "$t/req.csr" -CA "$3" -CAkey "$4" -set_serial "0x$(openssl rand -hex 8)" \
        -days 365 -copy_extensions copyall -out "$t/new.crt" 2>/dev/null
    cp "$t/new.crt" "$1"; cp "$t/new.key" "$2"; chmod 600 "$2"
}
for n in apiserver apiserver-kubelet-client; do renew "$pki/$n.crt" "$pki/$n.key" "$pki/ca.crt" "$pki/ca.key"; done
renew "$pki/front-proxy-client.crt" "$pki/front-proxy-client.key" "$pki/front-proxy-ca.crt" "$pki/front-proxy-ca.key"
for n in etcd/server etcd/peer etcd/healthcheck-client apiserver-etcd-client; do
    renew "$pki/$n.crt" "$pki/$n.key" "$pki/etcd/ca.crt" "$pki/etcd/ca.key"
done
for c in admin controller-manager scheduler kubelet; do
    conf=$root/etc/kubernetes/$c.conf
    grep client-certificate-data "$conf" | awk '{print $2}' | base64 -d > "$t/c.crt"
    grep client-key-data "$conf" | awk '{print $2}' | base64 -d > "$t/c.key"
    renew "$t/c.crt" "$t/c.key" "$pki/ca.crt" "$pki/ca.key"
    crt=$(base64 -w0 < "$t/c.crt"); key=$(base64 -w0 < "$t/c.key")
    sed -i "s|client-certificate-data: .*|client-certificate-data: $crt|; s|client-key-data: .*|client-key-data: $key|" "$conf"
done
rm -rf "$t"
'''


OPENSSL_INIT = r'''
set -e
out=$1; kt=$2
mkdir -p "$out/pki/etcd"; cd "$out/pki"
key() {
    if [ "$kt" = rsa ]; then openssl genrsa -out "$1" 2048 2>/dev/null
    else openssl ecparam -name prime256v1 -genkey -noout -out "$1"; fi
}
ca() {  # base cn
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 \
        -addext "subjectAltName=DNS:$2" -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
        -out "$1.crt" 2>/dev/null
}
leaf() {  # base ca subj eku [san]
    key "$1.key"
    printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nbasicConstraints=critical,CA:FALSE\n' "$4" > ext
    [ -n "${5:-}" ] && echo "subjectAltName=$5" >> ext
    openssl req -new -key "$1.key" -subj "$3" -out req.csr 2>/dev/null
    openssl x509 -req -in req.csr -CA "$2.crt" -CAkey "$2.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 365 -extfile ext -out "$1.crt" 2>/dev/null
}
ca ca kubernetes; ca front-proxy-ca front-proxy-ca; ca etcd/ca etcd-ca
leaf apiserver ca /CN=kube-apiserver serverAuth "DNS:cp-1,DNS:kubernetes,IP:10.96.0.1,IP:192.0.2.10"
leaf apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
leaf front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth
leaf etcd/server etcd/ca /CN=cp-1 serverAuth,clientAuth "DNS:cp-1,DNS:localhost,IP:192.0.2.10,IP:127.0.0.1"
leaf etcd/peer etcd/ca /CN=cp-1 serverAuth,clientAuth "DNS:cp-1,DNS:localhost,IP:192.0.2.10,IP:127.0.0.1"
leaf etcd/healthcheck-client etcd/ca /CN=kube-etcd-healthcheck-client clientAuth
leaf apiserver-etcd-client etcd/ca /CN=kube-apiserver-etcd-client clientAuth
key sa.key; openssl pkey -in sa.key -pubout -out sa.pub
for u in kubernetes-admin system:node:cp-1 system:kube-controller-manager system:kube-scheduler; do
    leaf "conf-$u" ca "/CN=$u" clientAuth
done
rm -f ext req.csr
'''

INIT_CONFIG = """apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
nodeRegistration:
  name: cp-1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.31.0
encryptionAlgorithm: %s
"""


def bench_init(work):
    """init of a whole tree, RSA-2048 and ECDSA-P256, beside openssl."""
    script = os.path.join(work, "openssl-init.sh")
    with open(script, "w") as f:
        f.write(OPENSSL_INIT)
    runs = max(3, RUNS // 5)
    print("\ninit of a full tree (3 CAs, 7 leaves, sa keys, 4 kubeconfigs; %d runs each, median):" % runs)
    for alg, kt in (("RSA-2048", "rsa"), ("ECDSA-P256", "ec")):
        def krescue_root(i, alg=alg):
            r = os.path.join(work, "init-%s-%d" % (kt, i))
            os.makedirs(os.path.join(r, "etc", "kubernetes"), exist_ok=True)
            with open(os.path.join(r, "etc", "kubernetes", "kubeadm-config.yaml"), "w") as f:
                f.write(INIT_CONFIG % alg)
            return r
        roots = [krescue_root(i) for i in range(runs)]
        _, med_k = run_many(lambda i: [KRESCUE, "-q", "init", "--root", roots[i]], runs)
        rss = peak_rss_kib([KRESCUE, "-q", "init", "--root", krescue_root(runs)])
        _, med_o = run_many(lambda i: ["sh", script, os.path.join(work, "oinit-%s-%d" % (kt, i)), kt], runs)
        print("  %-10s krescue init %8.2f ms (peak RSS %d KiB)   openssl script %8.2f ms   ratio %.1fx"
              % (alg, med_k * 1e3, rss, med_o * 1e3, med_o / med_k))
    if shutil.which("kubeadm"):
        print("  kubeadm: on PATH but not driven here (needs a full InitConfiguration run)")
    else:
        print("  kubeadm: not on PATH, not measured")


def main():
    work = tempfile.mkdtemp(prefix="krescue-bench.")
    try:
        size = os.path.getsize(KRESCUE)
        print("binary size: %d bytes (%.2f MiB; goal < 1 MiB); kubeadm is ~50 MB"
              % (size, size / 1048576.0))

        root = os.path.join(work, "node")
        node_tree(root)
        script = os.path.join(work, "openssl-check.sh")
        with open(script, "w") as f:
            f.write(OPENSSL_CHECK)
        now = ["--now", "2026-11-24T11:41:55Z"]
        kc = [KRESCUE, "check", "--root", root, "-o", "json"] + now
        best_k, med_k = run_many(lambda i: kc, RUNS)
        best_o, med_o = run_many(lambda i: ["sh", script, root], RUNS)
        rss_k = peak_rss_kib(kc)
        rss_o = peak_rss_kib(["sh", script, root])
        print("\ncheck of the v1.28.4 tree (%d runs each, median wall time):" % RUNS)
        print("  krescue check        %8.2f ms   peak RSS %6d KiB (goal < 4096)" % (med_k * 1e3, rss_k))
        print("  openssl loop         %8.2f ms   peak RSS %6d KiB" % (med_o * 1e3, rss_o))
        print("  ratio openssl/krescue: %.1fx faster" % (med_o / med_k))
        kubeadm = shutil.which("kubeadm")
        if kubeadm:
            ka = [kubeadm, "certs", "check-expiration", "--cert-dir",
                  os.path.join(root, "etc/kubernetes/pki")]
            _, med_a = run_many(lambda i: ka, RUNS)
            print("  kubeadm              %8.2f ms   ratio kubeadm/krescue: %.1fx" % (med_a * 1e3, med_a / med_k))
        else:
            print("  kubeadm: not on PATH, not measured")

        rruns = max(3, RUNS // 4)
        roots = [os.path.join(work, "r%d" % i) for i in range(rruns)]
        oroots = [os.path.join(work, "o%d" % i) for i in range(rruns)]
        for r in roots + oroots:
            node_tree(r)
        rscript = os.path.join(work, "openssl-renew.sh")
        with open(rscript, "w") as f:
            f.write(OPENSSL_RENEW)
        _, med_rk = run_many(lambda i: [KRESCUE, "-q", "renew", "--root", roots[i], "--only",
                                        "apiserver,apiserver-kubelet-client,front-proxy-client,"
                                        "etcd-server,etcd-peer,etcd-healthcheck-client,"
                                        "apiserver-etcd-client,admin.conf,controller-manager.conf,"
                                        "scheduler.conf,kubelet.conf"], rruns)
        _, med_ro = run_many(lambda i: ["sh", rscript, oroots[i]], rruns)
        extra = os.path.join(work, "rss")
        node_tree(extra)
        rss_rk = peak_rss_kib([KRESCUE, "-q", "renew", "--root", extra])
        print("\nrenew of the v1.28.4 tree, 10 items + kubelet.conf (%d runs each, median):" % rruns)
        print("  krescue renew        %8.2f ms   peak RSS %6d KiB (goal < 8192)" % (med_rk * 1e3, rss_rk))
        print("  openssl script       %8.2f ms" % (med_ro * 1e3))
        print("  ratio openssl/krescue: %.1fx faster" % (med_ro / med_rk))
        if kubeadm:
            print("  kubeadm certs renew: needs a live config; measured only with --cert-dir")
        else:
            print("  kubeadm: not on PATH, not measured")
        bench_init(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
